"""TestState: test one state of a workflow, as AWS Step Functions' ``TestState`` API does.

The same code serves the library (:func:`test_state`), ``stepline test-state`` and the
service's ``TestState`` operation. Requests and responses are botocore's ``TestStateInput``
and ``TestStateOutput`` shapes, as plain mappings::

    from stepline.teststate import test_state

    response = test_state({
        "definition": '{"Type": "Pass", "Result": {"ok": true}, "ResultPath": "$.r", "Next": "B"}',
        "input": '{"id": 1}',
        "inspectionLevel": "DEBUG",
    })
    assert response["status"] == "SUCCEEDED" and response["nextState"] == "B"
"""

from __future__ import annotations

from stepline.teststate._errors import TestStateError
from stepline.teststate._run import DEFAULT_TIME_LIMIT_SECONDS, test_state, test_state_async

__all__ = ["DEFAULT_TIME_LIMIT_SECONDS", "TestStateError", "test_state", "test_state_async"]
