"""Retry policies: whether a failed step runs again, and after how long.

``@step(retry_policy=policy)`` takes any object with a ``next(elapsed_time, attempts, error)``
method that returns the seconds to wait before the next attempt, or None to give up.
``attempts`` counts the failures so far (1 after the first one), ``elapsed_time`` the seconds
since the first attempt started.

Most policies are composed from three kinds of parts, the names llama-index-workflows (and
tenacity before it) gives them:

- retry conditions (``retry_if_exception_type(...)``, combined with ``|`` and ``&``) say
  which errors are worth another attempt;
- wait strategies (``wait_fixed(1) + wait_random(0, 1)``) say how long to wait before retry n
  (n counts from 0);
- stop conditions (``stop_after_attempt(5) | stop_after_delay(30)``) say when to give up.

    policy = retry_policy(
        retry=retry_if_exception_type((TimeoutError, ConnectionError)),
        wait=wait_exponential(multiplier=1, max=30),
        stop=stop_after_attempt(5),
    )

Randomised waits take an optional ``seed`` so that a given seed always draws the same delay.
"""

from __future__ import annotations

import random
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

Duration = int | float | timedelta
ExceptionTypes = type[BaseException] | tuple[type[BaseException], ...]


def _seconds(value: Duration) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _uniform(low: float, high: float, seed: int | None) -> float:
    # A seed gets a generator of its own, so the same seed always draws the same value.
    return (random.Random(seed) if seed is not None else random).uniform(low, high)


@dataclass(frozen=True)
class RetryInfo:
    """Where the running step stands in its retries (``ctx.retry_info()``).

    ``retry_number`` is 0 on the first attempt; ``elapsed_seconds`` counts from the start of
    the first attempt; ``last_exception`` and ``last_failed_at`` (UTC) describe the previous
    failure, None on the first attempt.
    """

    retry_number: int
    elapsed_seconds: float
    last_exception: Exception | None
    last_failed_at: datetime | None


FIRST_ATTEMPT = RetryInfo(retry_number=0, elapsed_seconds=0.0, last_exception=None, last_failed_at=None)


@runtime_checkable
class RetryPolicy(Protocol):
    """Anything with this ``next`` method can be a step's retry policy."""

    def next(self, elapsed_time: float, attempts: int, error: Exception) -> float | None:
        """Seconds to wait before the next attempt, or None to stop retrying."""


# -- retry conditions ------------------------------------------------------------------------


class RetryCondition:
    """Decides whether an error is worth another attempt; ``a | b`` and ``a & b`` combine."""

    def __call__(self, error: BaseException) -> bool:
        raise NotImplementedError

    def __or__(self, other: Callable[[BaseException], bool]) -> retry_any:
        return retry_any(self, other)

    def __ror__(self, other: Callable[[BaseException], bool]) -> retry_any:
        return retry_any(other, self)

    def __and__(self, other: Callable[[BaseException], bool]) -> retry_all:
        return retry_all(self, other)

    def __rand__(self, other: Callable[[BaseException], bool]) -> retry_all:
        return retry_all(other, self)


class retry_if_exception(RetryCondition):  # noqa: N801 - the names users know
    """Retry when ``predicate(error)`` is true."""

    def __init__(self, predicate: Callable[[BaseException], bool]) -> None:
        self.predicate = predicate

    def __call__(self, error: BaseException) -> bool:
        return bool(self.predicate(error))


class retry_if_exception_type(retry_if_exception):  # noqa: N801
    """Retry when the error is an instance of one of ``exception_types``."""

    def __init__(self, exception_types: ExceptionTypes = Exception) -> None:
        self.exception_types = exception_types
        super().__init__(lambda error: isinstance(error, exception_types))


class retry_if_not_exception_type(retry_if_exception):  # noqa: N801
    """Retry unless the error is an instance of one of ``exception_types``."""

    def __init__(self, exception_types: ExceptionTypes = Exception) -> None:
        self.exception_types = exception_types
        super().__init__(lambda error: not isinstance(error, exception_types))


class retry_unless_exception_type(retry_if_not_exception_type):  # noqa: N801
    """Another name for ``retry_if_not_exception_type``."""


class retry_if_exception_message(RetryCondition):  # noqa: N801
    """Retry when ``str(error)`` equals ``message``, or when the regular expression ``match``
    is found in it (give one of the two)."""

    def __init__(self, message: str | None = None, match: str | re.Pattern[str] | None = None) -> None:
        if (message is None) == (match is None):
            raise TypeError(
                f"{type(self).__name__}() takes exactly one of 'message' (the exact text) "
                "or 'match' (a regular expression)"
            )
        self.message = message
        self.match = match
        self._pattern = re.compile(match) if isinstance(match, str) else match

    def _matches(self, error: BaseException) -> bool:
        text = str(error)
        if self._pattern is None:
            return text == self.message
        return self._pattern.search(text) is not None

    def __call__(self, error: BaseException) -> bool:
        return self._matches(error)


class retry_if_not_exception_message(retry_if_exception_message):  # noqa: N801
    """Retry unless the message equals ``message`` or contains a match of ``match``."""

    def __call__(self, error: BaseException) -> bool:
        return not self._matches(error)


class retry_if_exception_cause_type(RetryCondition):  # noqa: N801
    """Retry when an exception in the explicit ``raise ... from ...`` chain under the error
    is an instance of ``exception_types`` (``__context__`` is not followed)."""

    def __init__(self, exception_types: ExceptionTypes = Exception) -> None:
        self.exception_types = exception_types

    def __call__(self, error: BaseException) -> bool:
        cause = error.__cause__
        while cause is not None:
            if isinstance(cause, self.exception_types):
                return True
            cause = cause.__cause__
        return False


class retry_any(RetryCondition):  # noqa: N801
    """Retry when any of the conditions says so (what ``|`` builds)."""

    def __init__(self, *retries: Callable[[BaseException], bool]) -> None:
        self.retries = retries

    def __call__(self, error: BaseException) -> bool:
        return any(condition(error) for condition in self.retries)


class retry_all(RetryCondition):  # noqa: N801
    """Retry when every condition says so (what ``&`` builds)."""

    def __init__(self, *retries: Callable[[BaseException], bool]) -> None:
        self.retries = retries

    def __call__(self, error: BaseException) -> bool:
        return all(condition(error) for condition in self.retries)


class retry_always(RetryCondition):  # noqa: N801
    """Every error is retried."""

    def __call__(self, error: BaseException) -> bool:
        return True


class retry_never(RetryCondition):  # noqa: N801
    """No error is retried."""

    def __call__(self, error: BaseException) -> bool:
        return False


# -- wait strategies -------------------------------------------------------------------------


class WaitStrategy:
    """Seconds to wait before retry number ``attempts`` (0 for the first retry).
    ``a + b`` adds two strategies, and ``sum([...])`` works too."""

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        raise NotImplementedError

    def __add__(self, other: Callable[..., float]) -> wait_combine:
        return wait_combine(self, other)

    def __radd__(self, other: object) -> WaitStrategy | wait_combine:
        if other == 0:  # sum() starts from 0
            return self
        if callable(other):
            return wait_combine(other, self)
        return NotImplemented


class wait_fixed(WaitStrategy):  # noqa: N801
    """The same wait before every retry."""

    def __init__(self, wait: Duration) -> None:
        self.wait = _seconds(wait)

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        return self.wait


class wait_none(wait_fixed):  # noqa: N801
    """Retry at once."""

    def __init__(self) -> None:
        super().__init__(0)


class wait_exponential(WaitStrategy):  # noqa: N801
    """``multiplier * exp_base ** n`` before retry n, kept between ``min`` and ``max``."""

    def __init__(
        self,
        multiplier: float = 1.0,
        exp_base: float = 2.0,
        max: Duration = 60.0,  # noqa: A002 - the parameter names users know
        min: Duration = 0.0,  # noqa: A002
    ) -> None:
        self.multiplier = float(multiplier)
        self.exp_base = float(exp_base)
        self.max = _seconds(max)
        self.min = _seconds(min)

    def _bound(self, attempts: int) -> float:
        return max(self.min, 0.0, min(self.multiplier * self.exp_base**attempts, self.max))

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        return self._bound(attempts)


class wait_incrementing(WaitStrategy):  # noqa: N801
    """``start + increment * n`` before retry n, at most ``max`` and never below 0."""

    def __init__(self, start: Duration = 0.0, increment: Duration = 100.0, max: Duration = float("inf")) -> None:  # noqa: A002
        self.start = _seconds(start)
        self.increment = _seconds(increment)
        self.max = _seconds(max)

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        return max(0.0, min(self.start + self.increment * attempts, self.max))


class wait_random(WaitStrategy):  # noqa: N801
    """A wait drawn uniformly between ``min`` and ``max``."""

    def __init__(self, min: Duration = 0.0, max: Duration = 1.0) -> None:  # noqa: A002
        self.min = _seconds(min)
        self.max = _seconds(max)

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        return _uniform(self.min, self.max, seed)


class wait_exponential_jitter(WaitStrategy):  # noqa: N801
    """``initial * exp_base ** n`` plus a random 0..``jitter``, at most ``max``."""

    def __init__(self, initial: float = 1.0, exp_base: float = 2.0, max: float = 60.0, jitter: float = 1.0) -> None:  # noqa: A002
        self.initial = initial
        self.exp_base = exp_base
        self.max = max
        self.jitter = jitter

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        base = min(self.initial * self.exp_base**attempts, self.max)
        return min(base + _uniform(0, self.jitter, seed), self.max)


class wait_random_exponential(wait_exponential):  # noqa: N801
    """A wait drawn uniformly between ``min`` and the exponential bound of retry n
    ("full jitter")."""

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        return _uniform(self.min, self._bound(attempts), seed)


def wait_full_jitter(
    multiplier: float = 1.0,
    exp_base: float = 2.0,
    max: Duration = 60.0,  # noqa: A002
    min: Duration = 0.0,  # noqa: A002
) -> wait_random_exponential:
    """Another name for ``wait_random_exponential``."""
    return wait_random_exponential(multiplier=multiplier, exp_base=exp_base, max=max, min=min)


class wait_chain(WaitStrategy):  # noqa: N801
    """One strategy per retry, in order; the last one serves every later retry."""

    def __init__(self, *strategies: Callable[..., float]) -> None:
        if not strategies:
            raise ValueError("wait_chain() needs at least one wait strategy")
        self.strategies = strategies

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        chosen = self.strategies[min(attempts, len(self.strategies) - 1)]
        return chosen(attempts, seed=seed)


class wait_combine(WaitStrategy):  # noqa: N801
    """The sum of several strategies' waits (what ``+`` builds)."""

    def __init__(self, *strategies: Callable[..., float]) -> None:
        self.strategies = strategies

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        return sum(strategy(attempts, seed=seed) for strategy in self.strategies)


# -- stop conditions -------------------------------------------------------------------------


class StopCondition:
    """Decides when to give up, from the failures so far, the seconds since the first attempt
    and the wait the next retry would need; ``a | b`` and ``a & b`` combine."""

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        raise NotImplementedError

    def __or__(self, other: Callable[..., bool]) -> stop_any:
        return stop_any(self, other)

    def __ror__(self, other: Callable[..., bool]) -> stop_any:
        return stop_any(other, self)

    def __and__(self, other: Callable[..., bool]) -> stop_all:
        return stop_all(self, other)

    def __rand__(self, other: Callable[..., bool]) -> stop_all:
        return stop_all(other, self)


class stop_after_attempt(StopCondition):  # noqa: N801
    """Give up once this many attempts have failed."""

    def __init__(self, max_attempt_number: int) -> None:
        self.max_attempt_number = max_attempt_number

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        return attempts >= self.max_attempt_number


class stop_after_delay(StopCondition):  # noqa: N801
    """Give up once this long has passed since the first attempt."""

    def __init__(self, max_delay: Duration) -> None:
        self.max_delay = _seconds(max_delay)

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        return elapsed_time >= self.max_delay


class stop_before_delay(StopCondition):  # noqa: N801
    """Give up when waiting for the next retry would reach this long since the first attempt."""

    def __init__(self, max_delay: Duration) -> None:
        self.max_delay = _seconds(max_delay)

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        return elapsed_time + upcoming_sleep >= self.max_delay


class stop_any(StopCondition):  # noqa: N801
    """Give up when any condition says so (what ``|`` builds)."""

    def __init__(self, *stops: Callable[..., bool]) -> None:
        self.stops = stops

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        return any(stop(attempts, elapsed_time, upcoming_sleep=upcoming_sleep) for stop in self.stops)


class stop_all(StopCondition):  # noqa: N801
    """Give up when every condition says so (what ``&`` builds)."""

    def __init__(self, *stops: Callable[..., bool]) -> None:
        self.stops = stops

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        return all(stop(attempts, elapsed_time, upcoming_sleep=upcoming_sleep) for stop in self.stops)


class stop_never(StopCondition):  # noqa: N801
    """Never give up (the run's timeout still applies)."""

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        return False


# -- policies --------------------------------------------------------------------------------


class ComposedRetryPolicy:
    """A retry policy made of a retry condition, a wait strategy and a stop condition."""

    def __init__(
        self,
        retry: Callable[[BaseException], bool] | None = None,
        wait: Callable[..., float] | None = None,
        stop: Callable[..., bool] | None = None,
    ) -> None:
        self.retry = retry
        self.wait = wait if wait is not None else wait_fixed(5)
        self.stop = stop if stop is not None else stop_after_attempt(3)

    def next(self, elapsed_time: float, attempts: int, error: Exception, *, seed: int | None = None) -> float | None:
        if self.retry is not None and not self.retry(error):
            return None
        # attempts counts failures from 1; wait strategies number retries from 0.
        delay = self.wait(max(attempts - 1, 0), seed=seed)
        if self.stop(attempts, elapsed_time, upcoming_sleep=delay):
            return None
        return delay

    def __repr__(self) -> str:
        return f"retry_policy(retry={self.retry!r}, wait={self.wait!r}, stop={self.stop!r})"


def retry_policy(
    retry: Callable[[BaseException], bool] | None = None,
    wait: Callable[..., float] | None = None,
    stop: Callable[..., bool] | None = None,
) -> ComposedRetryPolicy:
    """A retry policy from its parts. The defaults retry every error, wait 5 s between
    attempts and give up after 3 attempts."""
    return ComposedRetryPolicy(retry=retry, wait=wait, stop=stop)


def ConstantDelayRetryPolicy(maximum_attempts: int = 3, delay: float = 5) -> ComposedRetryPolicy:  # noqa: N802
    """Deprecated spelling of ``retry_policy(wait=wait_fixed(delay), stop=stop_after_attempt(n))``."""
    warnings.warn(
        "ConstantDelayRetryPolicy is deprecated: write "
        f"retry_policy(wait=wait_fixed({delay!r}), stop=stop_after_attempt({maximum_attempts!r}))",
        DeprecationWarning,
        stacklevel=2,
    )
    return ComposedRetryPolicy(wait=wait_fixed(delay), stop=stop_after_attempt(maximum_attempts))


def ExponentialBackoffRetryPolicy(  # noqa: N802
    maximum_attempts: int = 5,
    initial_delay: float = 1.0,
    multiplier: float = 2.0,
    max_delay: float = 60.0,
    jitter: bool = True,
) -> ComposedRetryPolicy:
    """Deprecated spelling of ``retry_policy(wait=wait_exponential(...), stop=stop_after_attempt(n))``
    (``wait_random_exponential`` with ``jitter``)."""
    kind = wait_random_exponential if jitter else wait_exponential
    warnings.warn(
        "ExponentialBackoffRetryPolicy is deprecated: write "
        f"retry_policy(wait={kind.__name__}(multiplier={initial_delay!r}, exp_base={multiplier!r}, "
        f"max={max_delay!r}), stop=stop_after_attempt({maximum_attempts!r}))",
        DeprecationWarning,
        stacklevel=2,
    )
    wait = kind(multiplier=initial_delay, exp_base=multiplier, max=max_delay)
    return ComposedRetryPolicy(wait=wait, stop=stop_after_attempt(maximum_attempts))


def retry_delay(policy: RetryPolicy, elapsed_time: float, attempts: int, error: Exception) -> float | None:
    """Ask ``policy`` for the wait before the next attempt; a negative answer means at once."""
    delay = policy.next(elapsed_time, attempts, error)
    if delay is None:
        return None
    return max(0.0, float(delay))
