"""The environment record: this machine, packages, and each framework's own report."""

from mlpcompare.measuring import envinfo


def test_machine_has_cpu_cores_and_memory():
    info = envinfo.machine()
    assert info["cpu"] and info["python"].count(".") == 2
    assert 1 <= info["usable_cores"] <= info["logical_cores"]
    assert info["memory_gb"] > 0


def test_package_versions_without_importing_them():
    versions = envinfo.packages(("numpy", "surely-not-installed-package"))
    assert versions["numpy"] and versions["surely-not-installed-package"] is None


def test_numpy_blas_is_reported():
    assert any(pool["user_api"] == "blas" for pool in envinfo.blas())


def test_each_framework_reported_once_from_its_first_run():
    records = [
        {"framework": "torch", "device": "cpu", "threads": 2, "environment": {"version": "1"}},
        {"framework": "torch", "device": "cpu", "threads": 2, "environment": {"version": "2"}},
        {"framework": "numpy", "device": "cpu", "threads": 2, "environment": {}},
    ]
    found = envinfo.frameworks(records)
    assert list(found) == ["torch", "numpy"]
    assert found["torch"]["environment"] == {"version": "1"}


def test_environment_record():
    env = envinfo.environment([], threads=2, device="auto")
    assert env["threads_per_job"] == 2 and env["device_requested"] == "auto"
    assert {"machine", "blas", "packages", "gpus", "frameworks"} <= set(env)
    assert isinstance(env["gpus"], list)


def test_contention_means_more_runnable_work_than_cores():
    cores = envinfo.usable_cores()
    assert not envinfo.contention(cores, threads=cores)
    assert envinfo.contention(cores + 1.0, threads=cores)
    assert envinfo.contention(3.0, threads=2) == (max(cores, 2) + 0.5 < 3.0)
    assert not envinfo.contention(None, threads=2)


def test_every_frameworks_packages_are_recorded():
    from mlpcompare import frameworks

    for fw in frameworks.REGISTRY.values():
        assert set(fw.packages) <= set(envinfo.PACKAGES), fw.name
