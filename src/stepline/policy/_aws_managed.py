"""A small catalogue of AWS managed policies (``arn:aws:iam::aws:policy/…``) stepline knows.

IAM lets a role attach AWS managed policies by ARN; attaching one that does not exist fails with
``NoSuchEntity``. stepline ships the few that matter for workflows and HTTP Tasks. Their
documents grant what the AWS policies of the same names are for — they are written for stepline
and are not byte-for-byte copies of AWS's current versions (AWS revises those over time). Pass
your own catalogue to :class:`~stepline.policy.Roles` to replace or extend this one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULT_AWS_MANAGED_POLICIES", "AwsManagedPolicy"]


@dataclass(frozen=True, slots=True)
class AwsManagedPolicy:
    """An AWS managed policy: name, path, description and its (default) document.

    Attributes:
        name: The policy name, e.g. ``AWSStepFunctionsFullAccess``.
        document: The JSON policy document.
        path: The policy path (``/`` or ``/service-role/`` …).
        description: What the policy is for.
    """

    name: str
    document: str
    path: str = "/"
    description: str = ""


def _document(*statements: Mapping[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=4)


_PASS_ROLE_TO = "iam:PassedToService"

DEFAULT_AWS_MANAGED_POLICIES: Final[tuple[AwsManagedPolicy, ...]] = (
    AwsManagedPolicy(
        name="AdministratorAccess",
        description="Every action on every resource.",
        document=_document({"Effect": "Allow", "Action": "*", "Resource": "*"}),
    ),
    AwsManagedPolicy(
        name="AWSStepFunctionsFullAccess",
        description=(
            "All Step Functions actions, and passing roles to Step Functions; includes "
            "states:InvokeHTTPEndpoint."
        ),
        document=_document(
            {"Effect": "Allow", "Action": "states:*", "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": "arn:aws:iam::*:role/*",
                "Condition": {"StringEquals": {_PASS_ROLE_TO: "states.amazonaws.com"}},
            },
        ),
    ),
    AwsManagedPolicy(
        name="AWSStepFunctionsReadOnlyAccess",
        description="Read-only Step Functions actions: list, describe and execution history.",
        document=_document(
            {
                "Effect": "Allow",
                "Action": ["states:List*", "states:Describe*", "states:GetExecutionHistory"],
                "Resource": "*",
            }
        ),
    ),
    AwsManagedPolicy(
        name="AmazonEventBridgeFullAccess",
        description=(
            "All EventBridge actions, including connections, and the Secrets Manager actions "
            "on the secrets EventBridge keeps for connections (events!connection/*)."
        ),
        document=_document(
            {"Effect": "Allow", "Action": "events:*", "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": [
                    "secretsmanager:CreateSecret",
                    "secretsmanager:UpdateSecret",
                    "secretsmanager:DeleteSecret",
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:DescribeSecret",
                    "secretsmanager:PutSecretValue",
                ],
                "Resource": "arn:aws:secretsmanager:*:*:secret:events!connection/*",
            },
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": "arn:aws:iam::*:role/*",
                "Condition": {"StringLike": {_PASS_ROLE_TO: "events.amazonaws.com"}},
            },
        ),
    ),
)
