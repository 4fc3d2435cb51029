# The image that runs every component of the Kubeflow v2 / Vertex AI pipeline
# (runners/kubeflow_v2.py; see docs/kubeflow.md). Build from the repository root:
#   docker build --build-arg GIT_COMMIT=$(git rev-parse HEAD) -t REGISTRY/taxi-tfx-pipeline:TAG .
#
# TFX's own release image: Python 3.10 with TFX 1.16.0, TensorFlow 2.16, Beam and the rest of
# TFX's stack already installed and tested together by the TFX team, plus the
# kubeflow_v2_run_executor entrypoint that the compiled pipeline calls.
FROM tensorflow/tfx:1.16.0

# Why not `uv pip sync requirements.lock` over the image: the lock describes this project's dev
# environment (Airflow, Jupyter, pytest, ...), so syncing would uninstall the image's own tools
# and rewrite a multi-GB environment in one more layer for packages the containers never import.
# Instead the lock is a constraints file: the few packages the project's code needs on top of
# TFX get exactly the versions tested here (and any dependency they pull in is held to the lock
# too); the rest of the image stays as the TFX team built it.
# keras-tuner 1.3.5 matters: 1.4.x rejects the tf-keras model the Tuner builds (STACK.md).
COPY requirements.lock /pipeline/requirements.lock
RUN python -m pip install --no-cache-dir --constraint /pipeline/requirements.lock \
        tf-keras keras-tuner

# The commit the image holds, for the runs' provenance (the image has no .git):
#   docker build --build-arg GIT_COMMIT=$(git rev-parse HEAD) -t ... .
ARG GIT_COMMIT=unknown
ENV TABFLOW_GIT_COMMIT=$GIT_COMMIT

# Keras 2 (tf-keras) must be chosen before TensorFlow is first imported; the executor
# entrypoint imports TensorFlow before any project module could set this.
ENV TF_USE_LEGACY_KERAS=1

# The project itself: `modules` (user code named by dotted paths in the pipeline), `pipeline`
# (custom components and the DataGateVerdict artifact type) and `runners`. Editable, so
# tabflow/config/paths.py and modules/hooks.py see /pipeline as the project root and the defaults (curated schema, sample data)
# point at the copies inside the image; no dependencies are resolved here.
COPY . /pipeline
WORKDIR /pipeline
RUN python -m pip install --no-cache-dir --no-deps --editable . && \
    python -c "import modules.trainer, pipeline.components, runners.kubeflow_v2"

# The compiled pipeline gives each container its command
# (python -m tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor ...);
# without one, `docker run IMAGE` shows the CLI.
ENTRYPOINT ["python", "-m", "tabflow.console"]
CMD ["--help"]
