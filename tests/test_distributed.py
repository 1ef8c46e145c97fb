"""Execution backends (csi.resample.scheduler): serial, processes and Dask give the same bytes; faults; datasets.

Dask clusters are module-scoped and small: two in-process clusters (1 and 2 workers, ``processes=False``: cheap
to start) for the equality checks, and one cluster of two real worker processes for the killed-worker test and the
client-memory measurement (a worker process must exist to be killed, and the client's memory is only its own
when the workers live elsewhere).  Panels are small (40 companies x 60 respondents x 2 waves x 50 resamples) and
use pairwise deletion so that each run takes seconds on two shared cores.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import tracemalloc
import warnings
from dataclasses import dataclass
from pathlib import Path

import distributed
import numpy as np
import pandas as pd
import pytest
import threadpoolctl

import csi
from csi.cli import main
from csi.errors import CSIError, DataError, InputFileError
from csi.index import rows as row_sources
from csi.index.cells import run_cell
from csi.resample import scheduler as scheduler_module
from csi.resample.driver import run_plan
from csi.resample.scheduler import SchedulerError, TaskError, batch_size, resolve_scheduler

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::csi.ConvergenceWarning")

OPTIONS = dict(company="company", wave="wave", industry="industry", sector="sector", min_n=30, n_resamples=50,
               seed=3, missing="pairwise", national_resamples=20)  # fmt: skip


def _cluster(**kw):
    return distributed.LocalCluster(dashboard_address=None, silence_logs=logging.ERROR, **kw)


@pytest.fixture(scope="module")
def one_worker():
    with _cluster(n_workers=1, threads_per_worker=1, processes=False) as cl, distributed.Client(cl) as client:
        yield client


@pytest.fixture(scope="module")
def two_workers():
    with _cluster(n_workers=2, threads_per_worker=1, processes=False) as cl, distributed.Client(cl) as client:
        yield client


@pytest.fixture(scope="module")
def worker_processes():
    with _cluster(n_workers=2, threads_per_worker=1, processes=True) as cl, distributed.Client(cl) as client:
        yield client


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    """40 companies, 4 industries, 2 sectors, 2 waves, 60 respondents per cell, 5 % of the answers missing."""
    p = csi.simulate_panel("acsi", companies=40, respondents=60, waves=2, seed=5, industries=4, sectors=2)
    data = p.data.copy()
    items = list(csi.load_model("acsi").item_names)
    X = data[items].to_numpy(dtype=float, copy=True)
    X[np.random.default_rng(1).random(X.shape) < 0.05] = np.nan
    data[items] = X
    return data


def _files(folder: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def serial_files(panel, tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("serial") / "res"
    csi.index_panel(panel, "acsi", **OPTIONS, scheduler="serial").write(out)
    return _files(out)


def _assert_same_files(a: dict[str, bytes], b: dict[str, bytes]) -> None:
    assert sorted(a) == sorted(b)
    differ = [name for name in a if a[name] != b[name]]
    assert not differ, f"files differ from the serial run: {differ}"


@pytest.mark.parametrize("where", ["processes", "threads", "dask-1", "dask-2"])
def test_panel_bytes_do_not_depend_on_the_scheduler(where, panel, serial_files, tmp_path, request):
    scheduler = {"processes": "processes", "threads": "threads", "dask-1": request.getfixturevalue("one_worker"),
                 "dask-2": request.getfixturevalue("two_workers")}[where]  # fmt: skip
    result = csi.index_panel(panel, "acsi", **OPTIONS, scheduler=scheduler, n_jobs=2)
    result.write(tmp_path / "res")
    _assert_same_files(serial_files, _files(tmp_path / "res"))
    # The comparison can fail: the serial run has usable cells and intervals to differ in.
    assert (result.units["status"] == "ok").sum() > 40 and result.index["ci_lower"].notna().any()


def test_pooled_panel_on_dask_equals_serial(panel, two_workers):
    small = panel[panel["company"].isin([f"C{i:03d}" for i in range(1, 13)])]
    opts = {**OPTIONS, "pooled": True, "national_fit": False}
    a = csi.index_panel(small, "acsi", **opts, scheduler="serial")
    b = csi.index_panel(small, "acsi", **opts, scheduler=two_workers)
    for name in ("index", "changes", "units", "estimates"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


def _boom(task):
    """run_cell, except that company C007 in wave 2 raises an error csi does not catch (a bug, say)."""
    if task.unit == "C007" and task.wave == "2":
        raise RuntimeError("simulated crash in the cell's task")
    return run_cell(task)


@pytest.mark.parametrize("where", ["serial", "dask"])
def test_a_task_that_raises_fails_its_cell_and_the_others_finish(where, panel, monkeypatch, request):
    monkeypatch.setattr(row_sources, "run_cell", _boom)
    scheduler = request.getfixturevalue("two_workers") if where == "dask" else "serial"
    result = csi.index_panel(panel, "acsi", **{**OPTIONS, "n_resamples": 0, "national_resamples": 0},
                             national_fit=False, scheduler=scheduler)  # fmt: skip
    units = result.units.set_index(["level", "unit", "wave"])["status"]
    assert units[("company", "C007", "2")] == "failed"
    assert (units.xs("company", level="level") != "failed").sum() == 79
    reason = result.manifest["failures"]["C007 / 2"]
    assert "RuntimeError" in reason and "simulated crash" in reason
    assert result.index.query("unit == 'C007' and wave == '1'")["index"].notna().all()


def test_a_csi_error_in_a_cell_still_stops_the_run_on_dask(panel, two_workers):
    """csi's own errors concern the whole run (here: a bootstrap too large for memory), on every scheduler."""
    small = panel[panel["company"].isin(["C001", "C002"])]
    with pytest.raises(csi.BootstrapError, match="n_resamples=1000000000000"):
        csi.index_panel(small, "acsi", company="company", wave="wave", n_resamples=10**12, national_fit=False,
                        missing="pairwise", scheduler=two_workers)  # fmt: skip


def test_killed_worker_is_replaced_and_the_results_are_unchanged(panel, serial_files, worker_processes, tmp_path):
    client = worker_processes
    pids = client.run(os.getpid)  # {worker address: pid}
    killed: dict[str, float] = {}

    def kill_one_mid_run() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            busy = [w for w, keys in client.processing().items() if keys]
            if busy:
                time.sleep(1.0)  # let the worker get into its batch of cells
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed["at"] = time.monotonic()
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one_mid_run, daemon=True)
    killer.start()
    result = csi.index_panel(panel, "acsi", **OPTIONS, scheduler=client)
    done = time.monotonic()
    killer.join(timeout=5)
    assert "at" in killed and killed["at"] < done, "the worker was not killed while the run was going"
    result.write(tmp_path / "res")
    _assert_same_files(serial_files, _files(tmp_path / "res"))
    client.wait_for_workers(2, timeout=120)
    assert set(client.run(os.getpid).values()) != set(pids.values())  # one worker process was replaced


def _dataset(frame: pd.DataFrame, folder: Path) -> csi.PartitionedPanel:
    import pyarrow as pa
    import pyarrow.dataset as ds

    ds.write_dataset(pa.Table.from_pandas(frame, preserve_index=False), folder, format="parquet",
                     partitioning=["wave", "company"], partitioning_flavor="hive")  # fmt: skip
    return csi.PartitionedPanel(folder)


def _in_fragment_order(frame: pd.DataFrame, dataset: csi.PartitionedPanel) -> pd.DataFrame:
    """The panel's rows cell by cell in the dataset's fragment order (the order the dataset path reads them)."""
    rank = {(c.wave, c.company): i for i, c in enumerate(dataset.cells("company", "wave"))}
    pos = np.array([rank[k] for k in zip(frame["wave"], frame["company"])])
    return frame.iloc[np.argsort(pos, kind="stable")]


@pytest.mark.parametrize("pooled", [False, True], ids=["companies", "pooled"])
def test_partitioned_parquet_dataset_gives_the_csv_bytes(pooled, panel, two_workers, tmp_path):
    """Company fits, and pooled industry x wave fits (--pooled: a worker reads every company of its industry)."""
    # The CSV is read back as csi reads it; the dataset is written from that frame, the CSV in its cell order.
    panel.to_csv(tmp_path / "raw.csv", index=False)
    data = csi.read_survey(tmp_path / "raw.csv").data
    dataset = _dataset(data, tmp_path / "panel")
    _in_fragment_order(data, dataset).to_csv(tmp_path / "panel.csv", index=False)
    common = ["index", "--model", "acsi", "--company", "company", "--wave", "wave", "--industry", "industry",
              "--sector", "sector", "--min-n", "30", "--bootstrap", "50", "--national-bootstrap", "20", "--seed", "3",
              "--missing", "pairwise", *(["--pooled"] if pooled else [])]  # fmt: skip
    assert main([*common, "--data", str(tmp_path / "panel.csv"), "--scheduler", "serial", "--out",
                 str(tmp_path / "csv")]) == 0  # fmt: skip
    assert main([*common, "--data", str(tmp_path / "panel") + os.sep, "--scheduler", two_workers.scheduler.address,
                 "--out", str(tmp_path / "dataset")]) == 0  # fmt: skip
    _assert_same_files(_files(tmp_path / "csv"), _files(tmp_path / "dataset"))
    if pooled:  # the comparison can fail: the pooled fits ran and gave intervals
        units = pd.read_csv(tmp_path / "csv" / "units.csv")
        assert (units["status"] == "ok").sum() > 40
        assert pd.read_csv(tmp_path / "csv" / "index.csv")["ci_lower"].notna().any()


def _client_peak(data, client) -> int:
    """Peak bytes the client allocates (tracemalloc) while indexing ``data`` (fits only)."""
    opts = dict(company="company", wave="wave", industry="industry", n_resamples=0, national_fit=False,
                missing="listwise", seed=1)  # fmt: skip
    tracemalloc.start()
    try:
        result = csi.index_panel(data, "acsi", **opts, scheduler=client)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.manifest["counts"]["cells"] == 20
    return peak


def test_client_memory_does_not_grow_with_the_dataset(tmp_path, worker_processes):
    """Client peak memory against panel size: a 10x larger dataset adds little; a 10x larger frame adds its size.

    The client of a dataset run holds the unit keys, 8 bytes of row hash per respondent and the results; the
    fixed part (the Dask client, the results of 20 cells) is the same at both sizes, so the growth is what the
    rows cost the client.
    """
    sizes, peaks, frame_peaks = [], [], []
    for k, n in enumerate((60, 600)):
        p = csi.simulate_panel("acsi", companies=10, respondents=n, waves=2, seed=8, industries=2, sectors=None)
        sizes.append(int(p.data.memory_usage(deep=True).sum()))
        dataset = _dataset(p.data, tmp_path / f"panel{k}")
        if k == 0:
            _client_peak(dataset, worker_processes)  # warm-up: lazy imports are not the panel's
        peaks.append(_client_peak(dataset, worker_processes))
        frame_peaks.append(_client_peak(p.data, worker_processes))
    grow, grow_ds, grow_frame = sizes[1] - sizes[0], peaks[1] - peaks[0], frame_peaks[1] - frame_peaks[0]
    print(f"panel {sizes[0] / 1e6:.2f} -> {sizes[1] / 1e6:.2f} MB; client peak from the dataset "
          f"{peaks[0] / 1e6:.2f} -> {peaks[1] / 1e6:.2f} MB, from the frame {frame_peaks[0] / 1e6:.2f} -> "
          f"{frame_peaks[1] / 1e6:.2f} MB")  # fmt: skip
    assert grow_ds < 0.2 * grow  # 8 bytes per row of hashes against about 130 bytes per row of panel
    assert grow_frame > 0.5 * grow  # the same runs from a frame do pay for the rows: the measure can tell


def test_dataset_errors_name_the_folder_and_the_partitions(tmp_path, panel):
    with pytest.raises(InputFileError, match="no dataset folder"):
        csi.PartitionedPanel(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="not a Parquet dataset partitioned by wave and company"):
        csi.PartitionedPanel(tmp_path / "empty")
    dataset = _dataset(panel[panel["company"].isin(["C001", "C002"])], tmp_path / "ds")
    with pytest.raises(DataError, match="must be its two partition levels"):
        csi.index_panel(dataset, "acsi", company="industry", wave="wave", n_resamples=0, scheduler="serial")


def test_dataset_cell_with_a_bad_value_names_the_cell(tmp_path, panel):
    bad = panel[panel["company"].isin(["C001", "C002"])].copy()
    bad.loc[bad.index[70], "OVERALLX"] = 42.0  # outside the 1-10 scale, in company C002 wave 1 or 2
    dataset = _dataset(bad, tmp_path / "ds")
    with pytest.raises(DataError, match=r"wave=\d/company=C00\d: .*OVERALLX"):
        csi.index_panel(dataset, "acsi", company="company", wave="wave", n_resamples=0, scheduler="serial")


STUDY = ["bench", "estimators", "--quick", "--no-plot"]
TIMING = ["seconds", "boot_seconds", "median_seconds", "median_boot_seconds", "median_ms"]  # wall times differ


@pytest.fixture(scope="module")
def serial_study(tmp_path_factory) -> Path:
    """``csi bench estimators --quick`` on --scheduler serial (its folder)."""
    out = tmp_path_factory.mktemp("study") / "serial"
    assert main([*STUDY, "--scheduler", "serial", "--out", str(out)]) == 0
    raw = pd.read_csv(out / "raw.csv")
    assert raw["ci_lower"].notna().sum() > 100 and raw["method"].nunique() >= 4  # something to differ in
    return out


def _assert_same_study(a: Path, b: Path) -> None:
    for name in ("raw.csv", "summary.csv", "headline.csv"):
        x, y = pd.read_csv(a / name), pd.read_csv(b / name)
        x, y = x.drop(columns=x.columns.intersection(TIMING)), y.drop(columns=y.columns.intersection(TIMING))
        pd.testing.assert_frame_equal(x, y, check_exact=True)


def test_estimator_study_quick_serial_equals_dask(two_workers, serial_study, tmp_path):
    """``csi bench estimators --quick`` on --scheduler serial and on a Dask cluster: the same tables."""
    assert main([*STUDY, "--scheduler", two_workers.scheduler.address, "--out", str(tmp_path / "dask")]) == 0
    _assert_same_study(serial_study, tmp_path / "dask")


def test_dask_workers_with_the_nannys_default_environment_give_the_serial_bytes(
    worker_processes, serial_study, panel, serial_files, tmp_path
):
    """Worker processes started by a plain ``distributed.LocalCluster`` carry Dask's default nanny environment
    (``OMP_NUM_THREADS=1`` and its MKL/OpenBLAS twins, unlike this process's BLAS, which has a thread per core):
    every task runs on one BLAS thread anyway, so the estimator study (PLSc and CB-SEM replicates, whose last bits
    follow the BLAS thread count) and a panel give the serial run's bytes."""
    assert set(worker_processes.run(os.environ.get, "OMP_NUM_THREADS").values()) == {"1"}
    assert main([*STUDY, "--scheduler", worker_processes.scheduler.address, "--out", str(tmp_path / "dask")]) == 0
    _assert_same_study(serial_study, tmp_path / "dask")
    csi.index_panel(panel, "acsi", **OPTIONS, scheduler=worker_processes).write(tmp_path / "res")
    _assert_same_files(serial_files, _files(tmp_path / "res"))


def _blas_threads(_: object = None) -> dict[str, int]:
    """The thread count of every BLAS loaded in the process that runs this (a task, or the test itself)."""
    return {lib["filepath"]: lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"}


class _BlasProbe:
    """A resampling-driver statistic whose one statistic per replicate is the largest BLAS thread count seen."""

    width = 1

    def prepare(self, plan: object) -> None:
        pass

    def evaluate(self, plan: object, a: int, b: int, out: np.ndarray | None = None) -> tuple:
        return np.full((b - a, 1), float(max(_blas_threads().values()))), np.ones(b - a, dtype=bool), None


@dataclass(frozen=True)
class _Plan:
    n_resamples: int


@pytest.mark.parametrize("where", ["serial", "threads", "processes", "dask-in-process", "dask-processes"])
def test_every_task_runs_on_one_blas_thread_wherever_it_runs(where, request):
    """Executor batches and driver chunks see one BLAS thread on every backend (in-process Dask workers are
    threads of this process; Dask worker processes are separate ones), and this process's setting is back to
    what it was afterwards (a user's own ``csi.fit`` keeps the BLAS default)."""
    fixtures = {"dask-in-process": "two_workers", "dask-processes": "worker_processes"}
    scheduler = request.getfixturevalue(fixtures[where]) if where in fixtures else where
    before = _blas_threads()
    with resolve_scheduler(scheduler, 2) as ex:
        seen = ex.map(_blas_threads, list(range(8)), batch=2)
        reps = run_plan(_Plan(40), _BlasProbe(), chunk_size=5, backend=ex.driver_backend(), failed=None)
    assert all(s and set(s.values()) == {1} for s in seen), seen
    assert (reps.stats == 1).all()
    assert _blas_threads() == before


def test_large_bootstrap_serial_equals_dask(two_workers):
    fit = csi.fit("ecsi", csi.simulate("ecsi", 250, seed=2).data)
    a = csi.bootstrap(fit, 20_000, seed=9, scheduler="serial")
    b = csi.bootstrap(fit, 20_000, seed=9, scheduler=two_workers)
    np.testing.assert_array_equal(a.draws.to_numpy(), b.draws.to_numpy())
    pd.testing.assert_frame_equal(a.estimates, b.estimates, check_exact=True)
    assert a.draws.to_numpy().std(axis=0).max() > 0


@pytest.mark.parametrize("method", ["permutation", "henseler"])
def test_group_comparison_and_micom_on_dask_equal_threads(method, panel, two_workers):
    """Permutation and bootstrap blocks of csi.compare_groups and csi.micom on a Dask cluster (and on local
    processes): the same tables as the default threads."""
    data = panel[panel["wave"] == panel["wave"].iloc[0]].iloc[:600]
    args = dict(n_permutations=60, n_resamples=40, seed=3, n_jobs=2, missing="pairwise")
    here = csi.compare_groups("acsi", data, "industry", method, **args)
    for where in (two_workers, "processes"):
        there = csi.compare_groups("acsi", data, "industry", method, scheduler=where, **args)
        pd.testing.assert_frame_equal(here.table, there.table, check_exact=True)
    if method == "permutation":
        a = csi.micom("acsi", data, "industry", n_permutations=60, seed=3, missing="pairwise")
        b = csi.micom("acsi", data, "industry", n_permutations=60, seed=3, missing="pairwise", scheduler=two_workers)
        pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
        assert here.table["p_value"].between(0, 1).all() and here.omnibus is not None


def test_bad_scheduler_is_one_error_naming_what_is_accepted(panel, monkeypatch):
    monkeypatch.setattr(scheduler_module, "CONNECT_TIMEOUT", "1s")  # nothing listens on port 9: no need to wait
    with pytest.raises(SchedulerError, match="unknown scheduler 'cluster'; accepted: 'serial'.*tcp://"):
        csi.index_panel(panel, "acsi", company="company", wave="wave", scheduler="cluster")
    with pytest.raises(CSIError, match="unknown scheduler"):
        csi.bootstrap(csi.fit("acsi", panel.iloc[:200], missing="pairwise"), 10, scheduler=3)
    with pytest.raises(SchedulerError, match="cannot reach the Dask scheduler"):
        resolve_scheduler("tcp://127.0.0.1:9")
    with pytest.raises(SchedulerError, match="n_jobs"):
        resolve_scheduler("threads", 0)


def test_cli_bad_scheduler_is_one_line(capsys, tmp_path, panel):
    code = main(["bench", "missing", "--quick", "--scheduler", "yarn", "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("csi: error: unknown scheduler 'yarn'") and "Traceback" not in err
    panel.iloc[:300].to_csv(tmp_path / "survey.csv", index=False)
    assert main(["mga", "--model", "acsi", "--data", str(tmp_path / "survey.csv"), "--group", "industry",
                 "--scheduler", "yarn"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.startswith("csi: error: unknown scheduler 'yarn'") and "Traceback" not in err


def test_executor_map_keeps_task_order_and_reports_errors():
    def on_error(task, error):
        return ("failed", task, str(error))

    with resolve_scheduler("threads", 3) as ex:
        out = ex.map(_square_or_fail, list(range(23)), on_error=on_error, batch=2)
    assert out[:5] == [0, 1, 4, 9, 16] and out[7] == ("failed", 7, "ValueError: seven")
    assert len(out) == 23 and out[22] == 484
    with resolve_scheduler("serial") as ex, pytest.raises(ValueError, match="seven"):
        ex.map(_square_or_fail, [6, 7, 8])
    assert str(TaskError("KeyError", "x")) == "KeyError: x"


@pytest.mark.parametrize(("n", "workers"), [(800, 2), (800, 4), (1000, 2), (5000, 3), (80, 2)])
def test_batches_are_capped_and_come_in_multiples_of_the_workers(n, workers):
    """No worker is left running the last batch alone while the others idle (equal tasks, equal workers)."""
    size = batch_size(n, workers)
    count = len(range(0, n, size))
    assert size <= scheduler_module.MAX_BATCH and count >= 4 * workers and count % workers == 0


def _square_or_fail(x: int) -> int:
    if x == 7:
        raise ValueError("seven")
    return x * x


def test_dask_local_cluster_prints_its_dashboard(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with resolve_scheduler("dask", 1) as ex:
            assert ex.map(abs, [-2, 3]) == [2, 3]
    assert "dashboard" in capsys.readouterr().err
