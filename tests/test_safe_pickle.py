import collections
import os
import pickle

import numpy as np
import pytest

from readalike.safe_pickle import UnsafePickleError, load_pickle, loads_pickle


class Thing:
    def __init__(self):
        self.x = 1


class RunsCommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", [2, 3, 4])
@pytest.mark.parametrize(
    "value",
    [
        pytest.param(np.arange(6, dtype=np.float32).reshape(2, 3), id="array"),
        pytest.param(np.array([[1, 2]], dtype=np.int64).T, id="array-transposed"),
        pytest.param([1, 2.5, "three", None, True], id="list"),
        pytest.param({"a": [1, 2], "b": {"c": "d"}, 3: b"raw"}, id="dict"),
        pytest.param("späte Züge", id="str"),
        pytest.param((1, "x"), id="tuple"),
        pytest.param(np.float64(0.5), id="numpy-scalar"),
        pytest.param({"layer_0": np.eye(3, dtype=np.float16)}, id="dict-of-arrays"),
    ],
)
def test_plain_data_loads(tmp_path, value, protocol):
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps(value, protocol=protocol))
    back = load_pickle(path)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype
        np.testing.assert_array_equal(back, value)
    elif isinstance(value, dict) and "layer_0" in value:
        np.testing.assert_array_equal(back["layer_0"], value["layer_0"])
    else:
        assert back == value
        assert type(back) is type(value)


def test_protocol5_array_loads():
    value = np.arange(4.0)
    np.testing.assert_array_equal(loads_pickle(pickle.dumps(value, protocol=5)), value)


@pytest.mark.parametrize(
    ("make", "global_name"),
    [
        pytest.param(lambda m: collections.OrderedDict(a=1), "collections.OrderedDict", id="odict"),
        pytest.param(lambda m: Thing(), "Thing", id="class-instance"),
        pytest.param(lambda m: RunsCommand(m), "system", id="os-system"),
    ],
)
def test_unsafe_globals_are_refused(tmp_path, make, global_name):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(make(marker)))
    with pytest.raises(UnsafePickleError) as err:
        load_pickle(path)
    message = str(err.value)
    assert message.startswith(f"{path}: refused to unpickle ")
    assert global_name in message
    assert not marker.exists()


def test_object_array_is_refused():
    data = pickle.dumps({"ok": np.zeros(2), "bad": [np.array([1, "a"], dtype=object)]})
    with pytest.raises(
        UnsafePickleError, match=r"^release/x\.pkl: refused an array of dtype object"
    ):
        loads_pickle(data, "release/x.pkl")


@pytest.mark.parametrize(
    "cut",
    [pytest.param(5, id="few-bytes-missing"), pytest.param(-1, id="half")],
)
def test_truncated_pickle_names_the_source(tmp_path, cut):
    data = pickle.dumps({"a": np.arange(100.0)})
    data = data[: len(data) // 2] if cut < 0 else data[:-cut]
    path = tmp_path / "cut.pkl"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=r"cut\.pkl: not a readable pickle") as err:
        load_pickle(path)
    assert not isinstance(err.value, UnsafePickleError)
