"""Beam pipeline arguments for each execution target, built from the config's beam section.

`direct` (in-memory DirectRunner) is the default: on 2 cores it measured faster than the
multi-process DirectRunner (see the benchmark). Past one machine, the same components run on
Dataflow or on any runner that speaks Beam's portable job API (Flink, Spark, Beam's own job
service) via `portable`.
"""
from typing import Callable, Dict, List


# Unless the arguments already name a way to ship dependencies, every Beam-based TFX component
# builds an sdist of TFX and stages it with its job (tfx/utils/dependency_utils.py: about 1.3 s
# per component, four per run). The DirectRunner runs in this process, or in subprocesses of
# this same environment, and installs nothing, so its presets name a container image it never
# uses; that stops the build. Runners that do start workers get the real image from the config.
_DIRECT_NEEDS_NO_STAGING = "--sdk_container_image=unused-by-the-direct-runner"


def _direct(beam) -> List[str]:
    return ["--runner=DirectRunner", "--direct_running_mode=in_memory",
            "--direct_num_workers=1", _DIRECT_NEEDS_NO_STAGING]


def _direct_multiprocess(beam) -> List[str]:
    # 0 workers = one per core.
    return ["--runner=DirectRunner", "--direct_running_mode=multi_processing",
            "--direct_num_workers=0", _DIRECT_NEEDS_NO_STAGING]


def _require(beam, *names) -> None:
    missing = [n for n in names if not getattr(beam, n)]
    if missing:
        raise ValueError(f"beam_preset {beam.beam_preset!r} needs config setting(s) "
                         f"{', '.join(missing)} (env TABFLOW_{missing[0].upper()})")


def _dataflow(beam) -> List[str]:
    _require(beam, "gcp_project", "beam_temp_location")
    args = ["--runner=DataflowRunner",
            f"--project={beam.gcp_project}",
            f"--region={beam.gcp_region}",
            f"--temp_location={beam.beam_temp_location}",
            f"--staging_location={beam.beam_staging_location or beam.beam_temp_location}",
            f"--machine_type={beam.dataflow_machine_type}",
            f"--max_num_workers={beam.dataflow_max_workers}",
            "--experiments=use_runner_v2"]
    if beam.sdk_container_image:
        args.append(f"--sdk_container_image={beam.sdk_container_image}")
    return args


def _portable(beam) -> List[str]:
    args = ["--runner=PortableRunner",
            f"--job_endpoint={beam.portable_job_endpoint}",
            # Beam 2.59 applies this (60 s by default) to the job's state stream, failing any
            # job that runs longer than it.
            "--job_server_timeout=3600",
            f"--environment_type={beam.portable_environment_type}",
            f"--environment_config={beam.portable_environment_config}"]
    if beam.sdk_container_image and beam.portable_environment_type == "DOCKER":
        args[-1] = f"--environment_config={beam.sdk_container_image}"
    return args


PRESETS: Dict[str, Callable] = {
    "direct": _direct,
    "direct-multiprocess": _direct_multiprocess,
    "dataflow": _dataflow,
    "portable": _portable,
}


def _flag_name(arg: str) -> str:
    return arg.split("=", 1)[0]


def beam_pipeline_args(beam) -> List[str]:
    """The preset's arguments, with any flag also given in beam.beam_args replaced by it.

    `beam` is the config's beam section (tabflow/config/beam.py: BeamConfig)."""
    overrides = {_flag_name(a) for a in beam.beam_args}
    return [a for a in PRESETS[beam.beam_preset](beam)
            if _flag_name(a) not in overrides] + list(beam.beam_args)
