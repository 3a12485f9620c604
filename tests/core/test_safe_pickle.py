import collections
import os
import pickle

import numpy as np
import pytest

from readalike.core.safe_pickle import UnsafePickleError, load_pickle, loads_pickle


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


def _self_dict():
    d = {}
    d["ID"] = d
    return d


def _self_list():
    x = []
    x.append(x)
    return x


def _cycle_through_tuple():
    inner = []
    outer = {"pair": (1, inner)}
    inner.append(outer)
    return outer


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
@pytest.mark.parametrize(
    ("make", "kind"),
    [
        pytest.param(_self_dict, "dict", id="dict-holds-itself"),
        pytest.param(_self_list, "list", id="list-holds-itself"),
        pytest.param(_cycle_through_tuple, "dict", id="cycle-through-tuple-and-list"),
    ],
)
def test_self_referencing_container_is_refused(tmp_path, make, kind, protocol):
    data = pickle.dumps(make(), protocol=protocol)
    assert len(data) < 60  # a few bytes are enough to build it
    path = tmp_path / "loop.pkl"
    path.write_bytes(data)
    with pytest.raises(UnsafePickleError) as err:
        load_pickle(path)
    assert str(err.value) == (
        f"{path}: refused a self-referencing {kind} (a container that holds itself); "
        "released data holds none"
    )


def test_the_tiny_pickle_of_the_issue_is_refused():
    # d = {'ID': d}, the issue's example: before the fix the check for object arrays
    # walked it forever
    data = pickle.dumps(_self_dict())
    assert len(data) <= 30
    with pytest.raises(UnsafePickleError, match=r"^x\.pkl: refused a self-referencing dict"):
        loads_pickle(data, "x.pkl")


def test_shared_references_are_not_cycles():
    shared = [np.arange(3.0), "w"]
    value = {"a": shared, "b": shared, "c": (shared, shared)}
    back = loads_pickle(pickle.dumps(value))
    assert back["a"] is back["b"] is back["c"][0]
    np.testing.assert_array_equal(back["c"][1][0], np.arange(3.0))


def test_object_array_behind_a_shared_reference_is_still_found():
    shared = [np.array([1, "a"], dtype=object)]
    data = pickle.dumps({"a": shared, "b": [shared]})
    with pytest.raises(UnsafePickleError, match="dtype object"):
        loads_pickle(data, "s.pkl")


def test_nesting_bound(monkeypatch):
    import readalike.core.safe_pickle as sp

    monkeypatch.setattr(sp, "MAX_DEPTH", 3)
    assert loads_pickle(pickle.dumps([[[1]]])) == [[[1]]]  # depths 0, 1, 2
    with pytest.raises(
        UnsafePickleError, match=r"^n\.pkl: refused containers nested deeper than 3"
    ):
        loads_pickle(pickle.dumps([[[[1]]]]), "n.pkl")


def test_size_bound(monkeypatch):
    import readalike.core.safe_pickle as sp

    monkeypatch.setattr(sp, "MAX_ITEMS", 4)
    assert loads_pickle(pickle.dumps({"a": 1, "b": 2})) == {"a": 1, "b": 2}  # 4 items
    with pytest.raises(UnsafePickleError, match=r"^m\.pkl: refused more than 4 items"):
        loads_pickle(pickle.dumps({"a": 1, "b": [2]}), "m.pkl")  # 4 + 1
