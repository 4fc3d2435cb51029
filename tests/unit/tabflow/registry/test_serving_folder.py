"""The serving folder (tabflow/registry/serving.py): versions appear whole, concurrent installs get
distinct versions, and the model config is one TensorFlow Serving accepts."""
import multiprocessing
import os

import pytest
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from tabflow.registry import serving


def _saved_model(folder, payload=b"x" * 1000):
    (folder / "variables").mkdir(parents=True)
    (folder / "variables" / "variables.index").write_bytes(payload)
    (folder / "saved_model.pb").write_bytes(b"pb")
    return str(folder)


def test_install_copies_the_model_whole_under_a_new_version(tmp_path):
    src = _saved_model(tmp_path / "model")
    target = tmp_path / "serving" / "taxi"
    v1 = serving.install_version(src, str(target), now=1_800_000_000)
    v2 = serving.install_version(src, str(target), now=1_700_000_000)  # clock went back
    assert (v1, v2) == (1_800_000_000, 1_800_000_001)
    assert serving.versions(str(target)) == [v1, v2]
    assert sorted(os.listdir(target / str(v1))) == ["saved_model.pb", "variables"]
    assert [n for n in os.listdir(target) if n.startswith(".")] == []


def _install(args):
    src, target, barrier = args
    barrier.wait()
    return serving.install_version(src, target, now=1_800_000_000)


def test_concurrent_installs_in_one_second_get_distinct_versions(tmp_path):
    sources = [_saved_model(tmp_path / f"model-{i}", payload=bytes([i]) * 200_000)
               for i in range(4)]
    target = str(tmp_path / "serving" / "taxi")
    with multiprocessing.Manager() as manager:
        barrier = manager.Barrier(4)
        with multiprocessing.Pool(4) as pool:
            got = pool.map(_install, [(s, target, barrier) for s in sources])
    assert sorted(got) == [1_800_000_000 + i for i in range(4)]
    # Each version holds the model its install copied, complete.
    for source, version in zip(sources, got):
        with open(os.path.join(source, "variables", "variables.index"), "rb") as f:
            expected = f.read()
        with open(os.path.join(target, str(version), "variables", "variables.index"), "rb") as f:
            assert f.read() == expected


def test_model_config_parses_as_tensorflow_serving_config(tmp_path):
    target = tmp_path / "serving" / "taxi"
    for v in (1, 2, 3):
        (target / str(v)).mkdir(parents=True)
    serving.write_labels(str(target), {"serving": 3, "canary": 2})
    config = text_format.Parse((target / "models.config").read_text(),
                               model_server_config_pb2.ModelServerConfig())
    [model] = config.model_config_list.config
    assert model.name == "taxi" and model.base_path == str(target)
    assert model.model_platform == "tensorflow"
    assert list(model.model_version_policy.specific.versions) == [2, 3]
    assert dict(model.version_labels) == {"serving": 3, "canary": 2}
    assert serving.read_labels(str(target)) == {"serving": 3, "canary": 2}


def test_labels_must_name_existing_versions(tmp_path):
    (tmp_path / "1").mkdir()
    with pytest.raises(serving.ServingError, match="version.s. 7 not in"):
        serving.write_labels(str(tmp_path), {"serving": 7})


def test_a_garbled_model_config_is_named(tmp_path):
    (tmp_path / "models.config").write_text("model_config_list { nonsense }")
    with pytest.raises(serving.ServingError, match="models.config: not a TensorFlow Serving"):
        serving.read_labels(str(tmp_path))


def test_remove_version_takes_the_folder_and_its_record(tmp_path):
    src = _saved_model(tmp_path / "model")
    target = str(tmp_path / "serving")
    version = serving.install_version(src, target, now=5)
    serving.write_record(target, serving.VersionRecord(version, "/m/1"))
    freed = serving.remove_version(target, version)
    assert freed == 1002 and serving.versions(target) == [] and serving.records(target) == {}
