"""The retry module's building blocks decide the same delays and stops."""

import random
from datetime import timedelta

from workflows.retry_policy import (
    ConstantDelayRetryPolicy,
    ExponentialBackoffRetryPolicy,
    RetryPolicy,
    retry_all,
    retry_always,
    retry_any,
    retry_if_exception,
    retry_if_exception_cause_type,
    retry_if_exception_message,
    retry_if_exception_type,
    retry_if_not_exception_message,
    retry_if_not_exception_type,
    retry_never,
    retry_policy,
    retry_unless_exception_type,
    stop_after_attempt,
    stop_after_delay,
    stop_all,
    stop_any,
    stop_before_delay,
    stop_never,
    wait_chain,
    wait_combine,
    wait_exponential,
    wait_exponential_jitter,
    wait_fixed,
    wait_full_jitter,
    wait_incrementing,
    wait_none,
    wait_random,
    wait_random_exponential,
)


def chained():
    try:
        try:
            raise ConnectionError("socket")
        except ConnectionError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        return outer


class OnlyOnce:
    def next(self, elapsed_time, attempts, error):
        return 0.5 if attempts < 2 else None


async def main():
    errors = [ValueError("temporary glitch"), KeyError("k"), TimeoutError("slow"), chained()]
    conditions = {
        "type": retry_if_exception_type((ValueError, TimeoutError)),
        "not_type": retry_if_not_exception_type(KeyError),
        "unless": retry_unless_exception_type(ValueError),
        "message": retry_if_exception_message(message="slow"),
        "match": retry_if_exception_message(match=r"temp\w+"),
        "not_match": retry_if_not_exception_message(match="glitch"),
        "cause": retry_if_exception_cause_type(ConnectionError),
        "predicate": retry_if_exception(lambda e: isinstance(e, LookupError)),
        "or": retry_if_exception_type(KeyError) | retry_if_exception_message(message="slow"),
        "and": retry_if_exception_type(Exception) & retry_if_exception_message(match="glitch"),
        "any": retry_any(retry_never(), retry_if_exception_type(KeyError)),
        "all": retry_all(retry_always(), retry_if_exception_type(TimeoutError)),
    }
    waits = {
        "fixed": wait_fixed(2),
        "fixed_td": wait_fixed(timedelta(seconds=1.5)),
        "none": wait_none(),
        "exponential": wait_exponential(multiplier=1, exp_base=2, max=10, min=1),
        "incrementing": wait_incrementing(start=1, increment=2, max=6),
        "chain": wait_chain(wait_fixed(1), wait_fixed(3)),
        "sum": wait_fixed(1) + wait_incrementing(start=0, increment=1),
        "combine": wait_combine(wait_fixed(1), wait_fixed(0.5)),
        "builtin_sum": sum([wait_fixed(1), wait_fixed(2)]),
    }
    random_waits = {
        "random": wait_random(1, 2),
        "exp_jitter": wait_exponential_jitter(initial=1, exp_base=2, max=30, jitter=1),
        "random_exp": wait_random_exponential(multiplier=1, exp_base=2, max=30),
        "full_jitter": wait_full_jitter(multiplier=1, max=8),
    }
    stops = {
        "attempt": stop_after_attempt(3),
        "delay": stop_after_delay(timedelta(seconds=10)),
        "before": stop_before_delay(10),
        "any": stop_any(stop_after_attempt(5), stop_after_delay(10)),
        "all": stop_all(stop_after_attempt(2), stop_after_delay(5)),
        "or": stop_after_attempt(4) | stop_after_delay(20),
        "and": stop_after_attempt(2) & stop_before_delay(5),
        "never": stop_never(),
    }
    stop_inputs = [(1, 0.0, 0.0), (2, 4.0, 2.0), (3, 9.0, 1.0), (5, 30.0, 0.0)]
    policies = {
        "default": retry_policy(),
        "composed": retry_policy(retry=retry_if_exception_type(ValueError), wait=wait_exponential(max=5), stop=stop_after_attempt(4)),
        "constant": ConstantDelayRetryPolicy(maximum_attempts=3, delay=2),
        "backoff": ExponentialBackoffRetryPolicy(maximum_attempts=4, initial_delay=1, multiplier=3, max_delay=20, jitter=False),
        "custom": OnlyOnce(),
    }
    seeded = {name: [w(n, seed=1234) for n in range(4)] for name, w in random_waits.items()}
    random.seed(7)
    unseeded_in_range = {
        "random": all(1 <= random_waits["random"](n) <= 2 for n in range(20)),
        "exp_jitter": all(1 <= random_waits["exp_jitter"](n) <= 30 for n in range(20)),
        "full_jitter": all(0 <= random_waits["full_jitter"](n) <= 8 for n in range(20)),
    }
    return {
        "conditions": {name: [bool(c(e)) for e in errors] for name, c in conditions.items()},
        "waits": {name: [w(n) for n in range(5)] for name, w in waits.items()},
        "seeded": seeded,
        "unseeded_in_range": unseeded_in_range,
        "stops": {name: [s(a, t, upcoming_sleep=u) for a, t, u in stop_inputs] for name, s in stops.items()},
        "policies": {
            name: [p.next(float(a), a, e) for a in range(1, 6) for e in (ValueError("v"), KeyError("k"))]
            for name, p in policies.items()
        },
        "protocol": {name: isinstance(p, RetryPolicy) for name, p in policies.items()},
        "message_args": [type(err).__name__ for err in _bad_message_args()],
    }


def _bad_message_args():
    found = []
    for kwargs in ({}, {"message": "a", "match": "b"}):
        try:
            retry_if_exception_message(**kwargs)
        except Exception as exc:
            found.append(exc)
    try:
        wait_chain()
    except Exception as exc:
        found.append(exc)
    return found
