"""Flags, ini keys and markers: good values are honoured, bad ones are a one-line usage error."""

from __future__ import annotations

import pytest

from runtime.pytest.options import SettingError, Settings, apply_marker, from_sources

pytest_plugins = ["pytester"]


def test_defaults():
    assert from_sources({}, {}) == Settings(threshold=0.1, mode="warn", strict=False)


def test_command_line_wins_over_ini():
    settings = from_sources(
        {"mode": "error", "threshold": "0.25", "strict": None},
        {"mode": "off", "threshold": "2", "strict": "on"},
    )
    assert settings == Settings(threshold=0.25, mode="error", strict=True)


@pytest.mark.parametrize(
    ("cli", "message"),
    [
        ({"mode": "loud"}, "--wfasync-mode: mode must be one of warn, error, off; got 'loud'"),
        ({"threshold": "fast"}, "--wfasync-threshold: threshold must be a positive number of seconds, got 'fast'"),
        ({"threshold": "0"}, "--wfasync-threshold: threshold must be a positive number of seconds, got '0'"),
        ({"threshold": "nan"}, "--wfasync-threshold: threshold must be a positive number of seconds, got 'nan'"),
        ({"strict": "maybe"}, "--wfasync-strict: strict must be on or off, got 'maybe'"),
    ],
)
def test_bad_values_name_their_flag(cli, message):
    with pytest.raises(SettingError) as caught:
        from_sources(cli, {})
    assert str(caught.value) == message


def test_marker_overrides_only_what_it_names():
    base = Settings(threshold=0.1, mode="warn", strict=False)
    assert apply_marker(base, (), {"threshold": 0.05}, "t") == Settings(0.05, "warn", False)
    assert apply_marker(base, (), {"mode": "error", "strict": True}, "t") == Settings(0.1, "error", True)


@pytest.mark.parametrize(
    ("args", "kwargs", "fragment"),
    [
        ((), {"treshold": 0.05}, "unknown argument 'treshold'; expected threshold, mode, strict"),
        ((0.05,), {}, "takes keyword arguments only"),
        ((), {"threshold": -1}, "threshold must be a positive number of seconds, got -1"),
        ((), {"threshold": True}, "threshold must be a positive number of seconds, got True"),
        ((), {"mode": "raise"}, "mode must be one of warn, error, off; got 'raise'"),
        ((), {"strict": "yes"}, "strict must be True or False, got 'yes'"),
    ],
)
def test_bad_marker_arguments(args, kwargs, fragment):
    with pytest.raises(SettingError) as caught:
        apply_marker(Settings(), args, kwargs, "test_x.py::test_y")
    assert str(caught.value).startswith("test_x.py::test_y: @pytest.mark.wfasync")
    assert fragment in str(caught.value)


def test_markers_are_registered(suite):
    suite.file(
        "test_suite",
        """
        import pytest

        @pytest.mark.wfasync_allow_blocking
        def test_allowed():
            pass

        @pytest.mark.wfasync(threshold=0.05, mode="error", strict=False)
        def test_tuned():
            pass
        """
    )
    result = suite.run_inprocess("--strict-markers", "-W", "error::pytest.PytestUnknownMarkWarning")
    result.assert_outcomes(passed=2)
    assert "PytestUnknownMarkWarning" not in result.stdout.str()


def test_bad_flag_is_a_usage_error(suite):
    suite.file("test_suite", "def test_nothing():\n    pass\n")
    result = suite.run_inprocess("--wfasync-mode=loud")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: wfasync: --wfasync-mode: mode must be one of warn, error, off; got 'loud'"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_bad_ini_value_is_a_usage_error(suite):
    suite.ini("wfasync_threshold = soon\n")
    suite.file("test_suite", "def test_nothing():\n    pass\n")
    result = suite.run_inprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: wfasync: ini option wfasync_threshold: threshold must be a positive number of seconds, got 'soon'"]
    )


def test_bad_marker_is_a_usage_error_naming_the_test(suite):
    suite.file(
        "test_suite",
        """
        import pytest

        @pytest.mark.wfasync(treshold=0.05)
        def test_typo():
            pass

        @pytest.mark.wfasync_allow_blocking("because")
        def test_positional():
            pass
        """
    )
    result = suite.run_inprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: wfasync: bad marker",
            (
                "*test_suite.py::test_typo: @pytest.mark.wfasync: "
                "unknown argument 'treshold'; expected threshold, mode, strict"
            ),
            "*::test_positional: @pytest.mark.wfasync_allow_blocking takes only reason=..., got 'because'",
        ]
    )
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_report_path_that_is_a_directory_is_a_usage_error(suite):
    suite.pytester.mkdir("reports")
    suite.file("test_suite", "def test_nothing():\n    pass\n")
    result = suite.run_inprocess("--wfasync-report=reports")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: wfasync: --wfasync-report: 'reports' is a directory*"])


def test_header_shows_the_settings(suite):
    suite.ini("wfasync_mode = error\nwfasync_strict = on\n")
    suite.file("test_suite", "def test_nothing():\n    pass\n")
    result = suite.run_inprocess("--wfasync-threshold=0.25")
    result.stdout.fnmatch_lines(["wfasync: mode error, threshold 0.25 s, strict on"])
    result.assert_outcomes(passed=1)

