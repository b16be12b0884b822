"""The wire layer of ``stepline serve``: AWS protocols in, async handler calls out.

:func:`create_app` builds a raw ASGI application that speaks AWS JSON 1.0 (Step Functions),
AWS JSON 1.1 (EventBridge) and the IAM query protocol exactly as boto3 and the AWS CLI expect,
validates every request against botocore's service models, and calls the handler registered
for the operation (``"states:StartExecution"``, ``"iam:CreateRole"``) with the checked input
and a :class:`RequestContext`. Handlers raise :class:`ServiceError` for AWS errors. It holds no
business logic. Optional SigV4 verification: :func:`auth_from_env` / :class:`SigV4Verifier`.
"""

from __future__ import annotations

from stepline.api._app import DEFAULT_MAX_REQUEST_BYTES, HEALTH_PATH, AwsApi, create_app
from stepline.api._context import Handler, RequestContext
from stepline.api._errors import ServiceError, UnsupportedOperationError
from stepline.api._model import ServiceModel, load_service_model
from stepline.api._sigv4 import SigV4Verifier, auth_from_env, parse_access_keys

__all__ = [
    "DEFAULT_MAX_REQUEST_BYTES",
    "HEALTH_PATH",
    "AwsApi",
    "Handler",
    "RequestContext",
    "ServiceError",
    "ServiceModel",
    "SigV4Verifier",
    "UnsupportedOperationError",
    "auth_from_env",
    "create_app",
    "load_service_model",
    "parse_access_keys",
]
