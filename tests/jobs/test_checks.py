"""The generation system checks name what would fail every job."""

from jobs.checks import check_generation_settings


def ids(settings_changes, settings):
    for name, value in settings_changes.items():
        setattr(settings, name, value)
    return [problem.id for problem in check_generation_settings(None)]


def test_an_installed_toolchain_passes(settings):
    assert ids({}, settings) == []


def test_a_missing_toolchain_or_node_or_timeout_is_reported(settings, tmp_path):
    assert ids(
        {
            "JOBS_TOOLCHAIN_DIR": str(tmp_path),
            "JOBS_NODE": "no-such-node",
            "JOBS_STEP_TIMEOUT_S": 0,
        },
        settings,
    ) == ["jobs.E001", "jobs.W001", "jobs.W002"]


def test_a_worker_niceness_outside_0_to_19_is_an_error(settings):
    assert ids({"JOBS_WORKER_NICE": 20}, settings) == ["jobs.E002"]
    assert ids({"JOBS_WORKER_NICE": 19}, settings) == []


def test_an_idle_compiler_needs_sched_idle(settings, monkeypatch):
    monkeypatch.delattr("os.SCHED_IDLE")
    assert ids({"JOBS_COMPILER_IDLE": True}, settings) == ["jobs.E003"]
    assert ids({"JOBS_COMPILER_IDLE": False}, settings) == []
