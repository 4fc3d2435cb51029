"""tabflow.config: sections, defaults, env and CLI overrides, validation and derived paths."""
from pathlib import Path

import pytest

from tabflow.console import settings
from tabflow import config as C


def test_defaults():
    cfg = C.from_sources(environ={})
    assert cfg.pipeline_name == "taxi"
    assert cfg.training.train_steps == 1000 and cfg.training.eval_steps == 150
    assert cfg.training.batch_size == 40
    assert cfg.enable_cache is True
    assert cfg.beam.beam_preset == "direct" and cfg.beam.beam_args == []
    assert cfg.output_root == str(C.PROJECT_ROOT / "outputs")
    assert cfg.data.schema_path == str(C.PROJECT_ROOT / "data" / "taxi" / "schema.pbtxt")
    assert Path(cfg.data.data_root, "span-1", "data.csv").is_file()
    assert cfg.store.mysql_host == ""


def test_default_lists_are_not_shared():
    a, b = C.PipelineConfig(), C.PipelineConfig()
    a.beam.beam_args.append("--x")
    assert "--x" not in b.beam.beam_args


def test_env_overrides():
    env = {"TAXI_TRAIN_STEPS": "5", "TAXI_THRESHOLD": "0.5", "TAXI_ENABLE_CACHE": "false",
           "TAXI_PIPELINE_NAME": "taxi-dev", "TAXI_NOT_A_SETTING": "x", "OTHER_TRAIN_STEPS": "7"}
    cfg = C.from_sources(environ=env)
    assert cfg.training.train_steps == 5
    assert cfg.gates.threshold == 0.5
    assert cfg.enable_cache is False
    assert cfg.pipeline_name == "taxi-dev"
    assert C.env_overrides(env) == {"train_steps": 5, "threshold": 0.5, "enable_cache": False,
                                    "pipeline_name": "taxi-dev"}


def test_tabflow_variables_are_read_and_win_over_the_taxi_era_names():
    env = {"TABFLOW_TRAIN_STEPS": "7", "TAXI_TRAIN_STEPS": "5", "TAXI_EVAL_STEPS": "3",
           "TABFLOW_THRESHOLD": "0.6"}
    assert C.env_overrides(env) == {"train_steps": 7, "eval_steps": 3, "threshold": 0.6}
    assert C.unknown_env_variables(env) == [
        "WARNING: TAXI_TRAIN_STEPS and TABFLOW_TRAIN_STEPS are both set; TABFLOW_TRAIN_STEPS "
        "is used"]
    # The same value under both names is no conflict.
    assert C.unknown_env_variables({"TABFLOW_EVAL_STEPS": "3", "TAXI_EVAL_STEPS": "3"}) == []


def test_a_misspelt_tabflow_variable_names_the_setting_meant():
    [line] = C.unknown_env_variables({"TABFLOW_TRAIN_STEP": "5"})
    assert line == ("WARNING: environment variable TABFLOW_TRAIN_STEP is not a setting and is "
                    "ignored; did you mean TABFLOW_TRAIN_STEPS (setting train_steps)?")
    assert C.unknown_env_variables({"TABFLOW_VENV": ".v", "TAXI_GIT_COMMIT": "abc",
                                    "TABFLOW_MYSQL_PASSWORD": "pw", "TABFLOW_": "x"}) == []


def test_a_bad_tabflow_value_names_the_variable():
    with pytest.raises(ValueError, match="environment variable TABFLOW_TRAIN_STEPS"):
        C.from_sources(environ={"TABFLOW_TRAIN_STEPS": "five", "TAXI_TRAIN_STEPS": "5"})


@pytest.mark.parametrize("raw,expected", [
    ("1", True), ("TRUE", True), ("yes", True), ("on", True),
    ("0", False), ("False", False), ("no", False), (" off ", False)])
def test_bool_values(raw, expected):
    assert C.from_sources(environ={"TAXI_ENABLE_CACHE": raw}).enable_cache is expected


def test_cli_flag_overrides_env():
    env = {"TAXI_TRAIN_STEPS": "5", "TAXI_EVAL_STEPS": "6"}
    cfg = settings.parse_config(["--train-steps", "7"], environ=env)
    assert cfg.training.train_steps == 7
    assert cfg.training.eval_steps == 6  # env still applies where no flag was given
    assert settings.parse_config([], environ=env).training.train_steps == 5


def test_keyword_overrides_win():
    cfg = C.from_sources(environ={"TAXI_TRAIN_STEPS": "5"}, train_steps=9)
    assert cfg.training.train_steps == 9


@pytest.mark.parametrize("environ,argv,must_name", [
    ({"TAXI_TRAIN_STEPS": "five"}, [], ["TAXI_TRAIN_STEPS", "train_steps", "five"]),
    ({"TAXI_THRESHOLD": "high"}, [], ["TAXI_THRESHOLD", "threshold"]),
    ({"TAXI_ENABLE_CACHE": "maybe"}, [], ["TAXI_ENABLE_CACHE", "enable_cache"]),
    ({"TAXI_BEAM_ARGS": "[1, 2"}, [], ["TAXI_BEAM_ARGS", "beam_args"]),
    ({}, ["--batch-size", "x"], ["--batch-size", "batch_size"]),
    ({}, ["--max-regression", "lots"], ["--max-regression", "max_regression"]),
])
def test_bad_values_name_the_source(environ, argv, must_name):
    with pytest.raises(ValueError) as e:
        settings.parse_config(argv, environ=environ)
    for text in must_name:
        assert text in str(e.value)


@pytest.mark.parametrize("field,value", [
    ("train_steps", 0), ("eval_steps", -1), ("batch_size", 0), ("tuner_trials", 0),
    ("max_regression", float("nan")), ("max_regression", -0.1),
    ("max_slice_regression", -1.0), ("max_slice_regression", float("nan")),
    ("threshold", float("nan")), ("min_label_share", 0.6),
    ("pipeline_name", "bad name!")])
def test_validate_rejects(field, value):
    with pytest.raises(ValueError, match=field):
        C.PipelineConfig.from_flat(**{field: value})


def test_gates_default_to_the_spec_and_are_overridden_by_env_and_flag():
    # None: the dataset's spec (dataset.yaml) decides.
    assert C.PipelineConfig().gates.max_slice_regression is None
    cfg = C.from_sources(environ={"TAXI_MAX_SLICE_REGRESSION": "0.5"})
    assert cfg.gates.max_slice_regression == 0.5
    cfg = settings.parse_config(["--max-slice-regression", "0.25"], environ={})
    assert cfg.gates.max_slice_regression == 0.25
    assert C.from_sources(environ={"TAXI_THRESHOLD": ""}).gates.threshold is None


def test_the_dataset_folder_gives_the_pipeline_name_spans_and_schema(tmp_path):
    cfg = C.from_sources(environ={}, dataset=str(tmp_path / "penguins"))
    assert cfg.pipeline_name == "penguins"
    assert cfg.data.data_root == str(tmp_path / "penguins" / "spans")
    assert cfg.data.schema_path == str(tmp_path / "penguins" / "schema.pbtxt")
    assert cfg.serving_dir.endswith("serving_model/penguins")
    # Building a config reads nothing: the folder need not exist yet.
    assert not (tmp_path / "penguins").exists()


def test_validate_rejects_env_and_flag_values():
    with pytest.raises(ValueError, match="train_steps"):
        C.from_sources(environ={"TAXI_TRAIN_STEPS": "0"})
    with pytest.raises(ValueError, match="train_steps"):
        settings.parse_config(["--train-steps", "0"], environ={})


def test_validate_after_mutation():
    cfg = C.PipelineConfig()
    cfg.training.train_steps = 0
    with pytest.raises(ValueError, match="train_steps must be >= 1"):
        cfg.validate()


@pytest.mark.parametrize("raw,expected", [
    ('["--runner=DirectRunner", "--direct_num_workers=2"]',
     ["--runner=DirectRunner", "--direct_num_workers=2"]),
    ("  --runner=DirectRunner   --direct_num_workers=2 ",
     ["--runner=DirectRunner", "--direct_num_workers=2"]),
    ("[]", []),
    ("", []),
    ("[1, 2]", ["1", "2"]),
])
def test_beam_args_parsing(raw, expected):
    assert C.from_sources(environ={"TAXI_BEAM_ARGS": raw}).beam.beam_args == expected


def test_beam_args_from_flag():
    cfg = settings.parse_config(["--beam-args=--a=1 --b=2"], environ={"TAXI_BEAM_ARGS": "--c=3"})
    assert cfg.beam.beam_args == ["--a=1", "--b=2"]


def test_derived_paths_follow_output_root(tmp_path):
    cfg = C.from_sources(environ={"TAXI_OUTPUT_ROOT": str(tmp_path / "out")})
    root = tmp_path.resolve() / "out"
    assert cfg.output_root == str(root)
    assert cfg.store.metadata_path == str(root / "metadata.sqlite")
    assert cfg.serving_dir == str(root / "serving_model" / "taxi")
    assert cfg.log_file == str(root / "logs" / "pipeline.log")
    assert cfg.pipeline_root == str(root / "pipeline_root" / "taxi")
    assert not root.exists()  # building a config touches nothing


def test_derived_paths_use_pipeline_name_and_explicit_values(tmp_path):
    cfg = C.PipelineConfig.from_flat(output_root=str(tmp_path), pipeline_name="taxi_b",
                           metadata_path="/somewhere/m.sqlite")
    assert cfg.serving_dir.endswith("/serving_model/taxi_b")
    assert cfg.pipeline_root.endswith("/pipeline_root/taxi_b")
    assert cfg.store.metadata_path == "/somewhere/m.sqlite"


def test_relative_output_root_is_resolved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = C.PipelineConfig.from_flat(output_root="rel")
    assert cfg.output_root == str(tmp_path.resolve() / "rel")


def test_the_mysql_password_never_enters_the_config():
    env = {"TAXI_MYSQL_HOST": "db", "TAXI_MYSQL_PASSWORD": "s3cret-pw",
           "TAXI_MYSQL_PORT": "3307", "TAXI_MYSQL_PASSWORD_FILE": "pw.txt"}
    cfg = C.from_sources(environ=env)
    assert cfg.store.mysql_port == 3307
    assert cfg.store.mysql_password_file == str(Path("pw.txt").resolve())
    assert "s3cret-pw" not in repr(cfg) and "s3cret-pw" not in str(cfg.flat())
    with pytest.raises(ValueError, match="unknown config setting.*mysql_password"):
        C.PipelineConfig.from_flat(mysql_password="s3cret-pw")


def test_as_dict_has_every_field():
    d = C.PipelineConfig().as_dict()
    top = {name for name in d if name not in C.SECTIONS}
    assert top | {name for section in C.SECTIONS for name in d[section]} == set(C.FIELDS)
    assert set(C.PipelineConfig().flat()) == set(C.FIELDS)


def test_sqlite_connection_config(tmp_path):
    from tabflow.metadata.store import connection_config
    from runners.local_runner import metadata_connection
    cfg = C.PipelineConfig.from_flat(output_root=str(tmp_path / "out"))
    conn = connection_config(cfg.store, create=True)
    assert conn.sqlite.filename_uri == cfg.store.metadata_path
    assert not (tmp_path / "out").exists()  # the config and the metadata layer create nothing
    assert metadata_connection(cfg) == conn
    assert (tmp_path / "out").is_dir()  # the runner creates the store's folder


def test_every_field_has_a_flag():
    import argparse
    parser = argparse.ArgumentParser()
    settings.add_config_arguments(parser)
    flags = {a.option_strings[0] for a in parser._actions if a.option_strings}
    for name in C.FIELDS:
        assert "--" + name.replace("_", "-") in flags


def test_uris_are_kept_and_local_paths_made_absolute():
    cfg = C.PipelineConfig.from_flat(output_root="gs://bucket/taxi/", data_root="data/taxi")
    assert cfg.pipeline_root == "gs://bucket/taxi/pipeline_root/taxi"
    assert cfg.serving_dir == "gs://bucket/taxi/serving_model/taxi"
    assert cfg.data.data_root.startswith("/") and cfg.data.data_root.endswith("data/taxi")


def test_unknown_beam_preset_is_named():
    with pytest.raises(ValueError, match="beam_preset"):
        C.PipelineConfig.from_flat(beam_preset="spark-on-mars")


@pytest.mark.parametrize("preset,flag", [
    ("direct", "--direct_running_mode=in_memory"),
    ("direct-multiprocess", "--direct_running_mode=multi_processing"),
    ("portable", "--runner=PortableRunner"),
])
def test_beam_presets(preset, flag):
    from pipeline.beam_presets import beam_pipeline_args
    assert flag in beam_pipeline_args(C.PipelineConfig.from_flat(beam_preset=preset).beam)


def test_beam_args_override_the_preset():
    from pipeline.beam_presets import beam_pipeline_args
    args = beam_pipeline_args(C.PipelineConfig.from_flat(beam_args=["--direct_num_workers=2"]).beam)
    assert "--direct_num_workers=2" in args and "--direct_num_workers=1" not in args


def test_the_config_knows_every_beam_preset_and_no_other():
    from pipeline.beam_presets import PRESETS
    assert set(C.BEAM_PRESETS) == set(PRESETS)


def test_dataflow_preset_names_missing_settings():
    from pipeline.beam_presets import beam_pipeline_args
    with pytest.raises(ValueError, match="gcp_project"):
        beam_pipeline_args(C.PipelineConfig.from_flat(beam_preset="dataflow").beam)
    args = beam_pipeline_args(C.PipelineConfig.from_flat(
        beam_preset="dataflow", gcp_project="p", beam_temp_location="gs://b/tmp",
        sdk_container_image="img").beam)
    assert {"--runner=DataflowRunner", "--project=p", "--temp_location=gs://b/tmp",
            "--experiments=use_runner_v2", "--sdk_container_image=img"} <= set(args)


@pytest.mark.parametrize("field,value", [("threshold", -7.0), ("threshold", float("nan")),
                                         ("mysql_port", -5)])
def test_out_of_range_settings_are_named(field, value):
    with pytest.raises(ValueError, match=field):
        C.PipelineConfig.from_flat(**{field: value})


def test_building_a_config_creates_nothing_and_imports_no_tfx(tmp_path):
    import subprocess
    import sys
    root = tmp_path / "missing" / "out"
    code = ("import sys\n"
            "from tabflow import config\n"
            f"cfg = config.from_sources(environ={{}}, output_root={str(root)!r})\n"
            "cfg.validate(); cfg.to_json(); cfg.replace(train_steps=3)\n"
            "print(sorted(m for m in ('tfx', 'tensorflow', 'ml_metadata') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=C.PROJECT_ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"
    assert not (tmp_path / "missing").exists()


def test_sections_hold_their_settings_and_flat_overrides_land_in_them():
    cfg = C.from_sources(environ={"TAXI_MYSQL_HOST": "db"}, train_steps=9, threshold=0.6,
                         beam_preset="direct-multiprocess", kfp_target="kfp", span=2,
                         airflow_retries=5, pipeline_name="taxi_x")
    assert cfg.training.train_steps == 9 and cfg.gates.threshold == 0.6
    assert cfg.beam.beam_preset == "direct-multiprocess" and cfg.kubeflow.kfp_target == "kfp"
    assert cfg.data.span == 2 and cfg.airflow.airflow_retries == 5
    assert cfg.store.mysql_host == "db" and cfg.pipeline_name == "taxi_x"
    changed = cfg.replace(train_steps=4)
    assert changed.training.train_steps == 4 and cfg.training.train_steps == 9
    assert changed.store == cfg.store and changed.store is not cfg.store
    assert C.FIELDS["tuner_trials"][0] == "training" and C.FIELDS["output_root"][0] is None
    with pytest.raises(ValueError, match="unknown config setting.*nope"):
        C.from_sources(environ={}, nope=1)


@pytest.mark.parametrize("setting, value", [
    ("airflow_retries", -3),
    ("airflow_retry_delay_seconds", -1),
    ("airflow_max_retry_delay_seconds", -1),
    ("dataflow_max_workers", 0),
    ("airflow_start_date", "2026-13-45"),
    ("airflow_start_date", "yesterday"),
    ("airflow_schedule", "@dayly"),
    ("airflow_schedule", "0 3 * *"),
    ("portable_environment_type", "DOCKR"),
    ("beam_preset", "warp"),
    ("kfp_target", "aws"),
    ("train_steps", 0),
    ("span", -1),
    ("threshold", -1.5),
    ("mysql_port", 0),
])
def test_each_invalid_setting_is_named(setting, value):
    with pytest.raises(ValueError, match=f"config setting {setting} .*{value}"):
        C.PipelineConfig.from_flat(**{setting: value})


@pytest.mark.parametrize("setting, value", [
    ("airflow_retries", 0), ("airflow_schedule", ""), ("airflow_schedule", "0 3 * * 1"),
    ("airflow_schedule", "@hourly"), ("airflow_start_date", "2026-02-03T04:05:00"),
    ("dataflow_max_workers", 1), ("portable_environment_type", "LOOPBACK"),
])
def test_valid_edge_values_pass(setting, value):
    assert C.PipelineConfig.from_flat(**{setting: value}).flat()[setting] == value


def test_relative_paths_become_absolute_from_the_current_folder(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    cfg = C.from_sources(environ={"TAXI_LOG_FILE": "logs/run.log"},
                         serving_dir="serve", metadata_path="store/m.sqlite",
                         kfp_output_dir="kfp", output_root="out")
    assert cfg.log_file == str(tmp_path / "logs" / "run.log")
    assert cfg.serving_dir == str(tmp_path / "serve")
    assert cfg.store.metadata_path == str(tmp_path / "store" / "m.sqlite")
    assert cfg.kubeflow.kfp_output_dir == str(tmp_path / "kfp")
    assert cfg.output_root == str(tmp_path / "out")


def test_unknown_taxi_variables_are_warned_about_with_the_closest_setting():
    env = {"TAXI_TRAIN_STEPZ": "5", "TAXI_TRAIN_STEPS": "3", "TAXI_VENV": ".venv",
           "TAXI_QQQQQQQQ": "1", "OTHER_TRAIN_STEPZ": "7"}
    warnings = C.unknown_env_variables(env)
    assert len(warnings) == 2
    stepz = next(w for w in warnings if "TAXI_TRAIN_STEPZ" in w)
    assert "train_steps" in stepz and "TABFLOW_TRAIN_STEPS" in stepz and "\n" not in stepz
    assert any("TAXI_QQQQQQQQ" in w for w in warnings)
    # A warning, not an error: the known settings still apply.
    assert C.from_sources(environ=env).training.train_steps == 3
