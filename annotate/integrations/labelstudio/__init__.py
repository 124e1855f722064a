"""Label Studio pre-labelling: labeling configs from schemas, push LLM predictions, pull human
annotations, and an ML backend serving the LLM roles.

Nothing here imports ``label_studio_sdk`` at import time; the SDK is loaded inside the calls
that talk to a server.

- :func:`labeling_config` (``config``): the XML for a :class:`~annotate.kinds.schema.LabelSchema`.
- :func:`to_result` / :func:`from_result` (``convert``): values <-> Label Studio results.
- :func:`push` / :func:`pull`: sync a project with a Label Studio server, idempotently.
- :func:`serve_backend` (``backend``): the ML backend; :class:`Predictor` is its seam.
- ``annotate.cli.labelstudio_cmd.ls_app``: the ``annotate ls`` commands.
"""

from annotate.integrations.labelstudio.backend import make_backend_server, serve_backend
from annotate.integrations.labelstudio.client import ConfigMismatch, LabelStudioError, connect
from annotate.integrations.labelstudio.config import labeling_config
from annotate.integrations.labelstudio.convert import from_result, to_result
from annotate.integrations.labelstudio.predictor import (
    ItemToPredict,
    PredictedValue,
    PredictionFailure,
    Predictor,
    load_predictor,
)
from annotate.integrations.labelstudio.pull import PullReport, pull
from annotate.integrations.labelstudio.push import PushReport, push

__all__ = [
    "ConfigMismatch",
    "ItemToPredict",
    "LabelStudioError",
    "PredictedValue",
    "PredictionFailure",
    "Predictor",
    "PullReport",
    "PushReport",
    "connect",
    "from_result",
    "labeling_config",
    "load_predictor",
    "make_backend_server",
    "pull",
    "push",
    "serve_backend",
    "to_result",
]
