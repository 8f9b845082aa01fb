"""Deployment inference: the ONNX graph written from canonical weights, each framework's export
served by ONNX Runtime, the serving-path APIs, and the check that catches a wrong export."""

import numpy as np
import pandas as pd
import pytest
import threadpoolctl
from reference_mlp import varied_bn_weights

from mlpcompare import frameworks
from mlpcompare.aggregating import serving
from mlpcompare.frameworks.numpy.model import MLP as NumpyMLP
from mlpcompare.serving import onnx_graph, onnx_serving
from mlpcompare.spec import ACTIVATIONS, ModelSpec, TrainSpec, init_weights

TOLERANCE = 1e-5


@pytest.fixture(autouse=True)
def restore_thread_limits():
    """Loading a framework pins BLAS threads; give the test process its own back."""
    with threadpoolctl.threadpool_limits(limits=None):
        yield


def trained_like(spec: ModelSpec, seed: int = 0) -> dict[str, np.ndarray]:
    """Canonical weights a graph that dropped or swapped any array (biases, BatchNorm's) fails."""
    return varied_bn_weights(spec, seed, spread=0.5)


def inputs(spec: ModelSpec, n: int = 17) -> np.ndarray:
    return np.random.default_rng(1).normal(size=(n, spec.n_in)).astype(np.float32)


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batchnorm"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_graph_from_canonical_weights_matches_the_numpy_forward(tmp_path, activation, batch_norm):
    # Dropout is set: inference must leave it out.
    spec = ModelSpec(6, (8, 5), 4, activation=activation, dropout=0.3, batch_norm=batch_norm)
    weights = trained_like(spec)
    path = tmp_path / "model.onnx"
    onnx_graph.write(weights, spec, path)
    run = onnx_serving.logits_call(onnx_serving.session(path, threads=1))
    for x in (inputs(spec), inputs(spec, n=1)):  # the batch dimension is dynamic
        want = NumpyMLP(spec, weights).forward(x, training=False)
        np.testing.assert_allclose(run(x), want, rtol=0, atol=TOLERANCE)


def test_graph_has_one_node_per_layer_part_and_no_dropout():
    spec = ModelSpec(6, (8, 5), 4, activation="tanh", dropout=0.3, batch_norm=True)
    graph = onnx_graph.from_canonical(trained_like(spec), spec).graph
    assert [node.op_type for node in graph.node] == [
        "Gemm", "BatchNormalization", "Tanh", "Gemm", "BatchNormalization", "Tanh", "Gemm",
    ]  # fmt: skip
    assert [i.name for i in graph.input] == ["x"] and [o.name for o in graph.output] == ["logits"]


def saved_predictor(framework: str, spec: ModelSpec, weights: dict, tmp_path):
    """``framework``'s model with ``weights``, saved in its own format and loaded for inference,
    as the evaluate job gets it."""
    module = frameworks.get(framework).trainer_module()
    x = inputs(spec)
    trainer = module.Trainer(spec, TrainSpec(), weights, x, np.zeros(len(x)), seed=0, device="cpu")
    path = str(tmp_path / frameworks.get(framework).model_file)
    trainer.save(path)
    return module.load_model(path, spec, "cpu")


@pytest.mark.parametrize("framework", frameworks.NAMES)
@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batchnorm"])
def test_each_frameworks_export_round_trips_through_onnx_runtime(framework, batch_norm, tmp_path):
    spec = ModelSpec(6, (8, 5), 4, activation="sigmoid", dropout=0.3, batch_norm=batch_norm)
    predictor = saved_predictor(framework, spec, trained_like(spec), tmp_path)
    path = tmp_path / "model.onnx"
    assert predictor.export_onnx(str(path))
    run = onnx_serving.logits_call(onnx_serving.session(path, threads=1))
    for x in (inputs(spec), inputs(spec, n=1)):
        want = predictor.predict_logits(x)
        np.testing.assert_allclose(run(x), want, rtol=0, atol=TOLERANCE)
        result = onnx_serving.agreement(want, run(x))
        assert result.ok and result.classes_differing == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["model.onnx", frameworks.get(framework).model_file]
    )  # one file, no external weights, no temporary file left behind


@pytest.mark.parametrize("framework", frameworks.NAMES)
def test_the_serving_path_gives_the_eager_calls_logits(framework, tmp_path):
    """Every API of a framework (its eager call first, then its serving path: tf.function,
    inference_mode) gives the same logits, BatchNorm and dropout in inference mode."""
    spec = ModelSpec(6, (8, 5), 4, activation="relu", dropout=0.3, batch_norm=True)
    predictor = saved_predictor(framework, spec, trained_like(spec), tmp_path)
    eager, *serving = predictor.inference_apis().items()
    for x in (inputs(spec), inputs(spec, n=1)):
        want = NumpyMLP(spec, trained_like(spec)).forward(x, training=False)
        np.testing.assert_allclose(eager[1](x), want, rtol=0, atol=TOLERANCE, err_msg=eager[0])
        for name, api in serving:
            np.testing.assert_allclose(api(x), eager[1](x), rtol=0, atol=1e-6, err_msg=name)


def test_agreement_counts_differing_classes_and_the_largest_probability_gap():
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0]], dtype=np.float32)
    assert onnx_serving.agreement(logits, logits).ok
    swapped = logits[:, [1, 0, 2]]
    result = onnx_serving.agreement(logits, swapped)
    assert result.classes_differing == 2 and result.max_abs_proba_diff > 0.5
    assert not result.ok


def test_a_wrong_export_is_detected_in_one_line(tmp_path):
    spec = ModelSpec(6, (8,), 4, batch_norm=True)
    weights = trained_like(spec)
    path = tmp_path / "model.onnx"
    onnx_graph.write(weights | {"var0": weights["var0"] * 1.01}, spec, path)  # 1 % off
    x = inputs(spec, n=200)
    want = NumpyMLP(spec, weights).forward(x, training=False)
    result = onnx_serving.agreement(
        want, onnx_serving.logits_call(onnx_serving.session(path, 1))(x)
    )
    assert not result.ok
    with pytest.raises(onnx_serving.MismatchError) as raised:
        onnx_serving.check(result, "numpy", path)
    assert "\n" not in str(raised.value) and "ONNX Runtime disagrees with numpy" in str(
        raised.value
    )


def test_a_session_uses_the_jobs_threads(tmp_path):
    spec = ModelSpec(6, (8,), 4)
    path = tmp_path / "model.onnx"
    onnx_graph.write(init_weights(spec, 0), spec, path)
    options = onnx_serving.session(path, threads=3).get_session_options()
    assert options.intra_op_num_threads == 3 and options.inter_op_num_threads == 1


def fake_run(framework, seed, rows, check=None):
    """A loaded run as :func:`mlpcompare.aggregating.runs.load_runs` gives it: only what serving.csv
    reads (rows: (api, batch_size, p50_ms))."""
    inference = [
        {"api": api, "batch_size": b, "p50_ms": p50, "p90_ms": p50, "samples_per_s": b / p50}
        for api, b, p50 in rows
    ]
    info = {"onnx": {"checked": True, **check}} if check else {}
    return {"dataset": "d", "arch": "a", "framework": framework, "seed": seed,
            "train": {"status": "ok"}, "inference": inference, "inference_info": info}  # fmt: skip


def test_serving_table_has_every_api_with_the_onnx_check_on_its_rows():
    rows = [
        ("eager", 1, 2.0),
        ("eager", 64, 4.0),
        ("onnxruntime", 1, 0.5),
        ("onnxruntime", 64, 1.0),
    ]
    runs = [
        fake_run("fw", seed, rows, {"classes_differing": 0, "max_abs_proba_diff": diff})
        for seed, diff in enumerate([1e-7, 3e-7])
    ]
    table = serving.serving_table(runs).set_index("api")
    assert list(table.index) == ["eager", "onnxruntime"]
    assert table.loc["eager", "p50_ms_batch1"] == 2.0
    assert table.loc["onnxruntime", "samples_per_s_best"] == 64
    assert table.loc["onnxruntime", "best_batch_size"] == 64
    assert table.loc["onnxruntime", "onnx_max_abs_proba_diff"] == 3e-7  # the worst seed
    assert table.loc["onnxruntime", "onnx_classes_differing"] == 0
    assert pd.isna(table.loc["eager", "onnx_max_abs_proba_diff"])  # not an export
