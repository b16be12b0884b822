"""TestState: run one state with the real engine and answer in AWS's ``TestStateOutput`` shape.

:func:`test_state` (and :func:`test_state_async`) take botocore's ``TestStateInput`` as a
mapping and return ``TestStateOutput`` as a dict: ``output``, ``error``, ``cause``,
``inspectionData``, ``nextState``, ``status``. The service's ``TestState`` operation and
``stepline test-state`` both call them.

How a run ends decides the status:

* ``SUCCEEDED`` — the state left normally; ``nextState`` is where it would go (none after a
  state that ends the workflow);
* ``FAILED`` — an error no Retry or Catch handled (a Fail state too);
* ``RETRIABLE`` — a retrier took the error and still had attempts
  (``stateConfiguration.retrierRetryCount`` says how many it has used); the test stops before
  the back-off, which ``inspectionData.errorDetails`` reports;
* ``CAUGHT_ERROR`` — a catcher took it: ``nextState`` is the catcher's, ``output`` the error
  output placed by its ``ResultPath`` (or its ``Output`` in JSONata).

Nothing ever really waits: a Wait state's timer fires at once (as AWS's TestState does not wait
either), and a retry's back-off is reported, not sat through.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeGuard

from stepline.asl._errors import TIMEOUT, StatesError
from stepline.engine import Clock, ExecutionIdentity, SystemClock, TaskEffect
from stepline.engine._driver import _run_task
from stepline.engine._ports import HeartbeatSink
from stepline.tasks import TaskHandler, TaskRegistry
from stepline.tasks._resources import HTTP_INVOKE
from stepline.teststate._errors import INVALID_EXECUTION_INPUT, TestStateError
from stepline.teststate._execution import InspectingExecution, Recorder, instrument
from stepline.teststate._inspection import build_response
from stepline.teststate._request import TestStateRequest, parse_request

if TYPE_CHECKING:
    from stepline.connections import Connections
    from stepline.policy import Roles
    from stepline.tasks import HttpExchange, HttpTask

__all__ = ["DEFAULT_TIME_LIMIT_SECONDS", "test_state", "test_state_async"]

DEFAULT_TIME_LIMIT_SECONDS: Final = 300.0
"""AWS's limit: a test runs for at most five minutes, then fails with ``States.Timeout``."""

_MAX_ROUNDS: Final = 16  # one state needs at most a few: a wait, a task, its outcome

Outcome = tuple[Any, str | None, str | None, float | None]  # result, error, cause, retry_after


class _RecordingHttpCall(Protocol):
    """What can run ``http:invoke`` and record its exchange: :class:`HttpTask`'s ``call``."""

    async def call(
        self,
        parameters: Any,
        *,
        state_name: str,
        region: str,
        identity: ExecutionIdentity | None,
        exchange: HttpExchange | None,
        field: str,
    ) -> Any: ...


def _records_exchange(handler: object) -> TypeGuard[_RecordingHttpCall]:
    """Whether ``handler`` has an async ``call`` that takes ``exchange=`` (as HttpTask does)."""
    call = getattr(handler, "call", None)
    if call is None or not inspect.iscoroutinefunction(call):
        return False
    try:
        parameters = inspect.signature(call).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "exchange" or p.kind is p.VAR_KEYWORD for p in parameters)


class _Runner:
    """Runs the tested Task's resource: a registered handler, else the HTTP Task.

    ``http:invoke`` is called with an :class:`HttpExchange` (not through the registry's
    ``invoke``) so that the request and response are recorded for the ``TRACE`` inspection
    level: through the registry's handler for it when that can record them (an
    :class:`HttpTask`, or anything with an async ``call(..., exchange=...)``), through
    ``http`` (or an HTTP Task built from the connections and roles) when the registry does not
    serve it. A plain callable registered for ``http:invoke`` (a stand-in) runs as registered.
    """

    def __init__(
        self,
        tasks: Mapping[str, TaskHandler] | TaskRegistry | None,
        *,
        http: HttpTask | None,
        connections: Connections | None,
        roles: Roles | None,
        region: str,
        account: str,
    ) -> None:
        self.registry = tasks if isinstance(tasks, TaskRegistry) else TaskRegistry(tasks)
        self._http = http
        self._connections = connections
        self._roles = roles
        self._region = region
        self._account = account
        self.exchange: HttpExchange | None = None

    def _http_task(self) -> HttpTask:
        if self._http is None:
            from stepline.connections import Connections
            from stepline.policy import PolicyEnforcer, Roles
            from stepline.tasks import HttpTask

            connections = self._connections or Connections(
                region=self._region, account=self._account
            )
            roles = self._roles or Roles(account=self._account)
            self._http = HttpTask(connections, policy=PolicyEnforcer.from_env(roles))
        return self._http

    def _recording_http(self) -> _RecordingHttpCall | None:
        """What runs ``http:invoke`` recording its exchange; ``None``: the registry's way."""
        if HTTP_INVOKE not in self.registry:
            return self._http_task()
        handler = self.registry.handler(HTTP_INVOKE)
        return handler if handler is not None and _records_exchange(handler) else None

    async def invoke(self, effect: TaskEffect, heartbeat: HeartbeatSink) -> Any:
        """The engine's ``TaskInvoker`` port."""
        http = self._recording_http() if effect.resource == HTTP_INVOKE else None
        if http is None:
            return await self.registry.invoke(effect, heartbeat)
        from stepline.tasks import HttpExchange

        self.exchange = HttpExchange()
        return await http.call(
            effect.parameters,
            state_name=effect.state_name,
            region=effect.region,
            identity=effect.identity,
            exchange=self.exchange,
            field="Arguments" if effect.jsonata else "Parameters",
        )


class _Test:
    """One TestState run: the checked request, the watched execution, the task runner."""

    def __init__(
        self,
        request: Mapping[str, Any],
        *,
        tasks: Mapping[str, TaskHandler] | TaskRegistry | None,
        connections: Connections | None,
        roles: Roles | None,
        http: HttpTask | None,
        region: str,
        account: str,
        clock: Clock | None,
        time_limit_seconds: float,
    ) -> None:
        self.request: TestStateRequest = parse_request(request)
        tested = self.request.tested
        self.recorder = Recorder()
        self.time_limit = time_limit_seconds
        role_arn = self.request.role_arn or f"arn:aws:iam::{account}:role/stepline-local"
        machine_arn = f"arn:aws:states:{region}:{account}:stateMachine:TestState"
        identity = ExecutionIdentity(
            machine_arn,
            f"arn:aws:states:{region}:{account}:execution:TestState:{uuid.uuid4()}",
            role_arn,
        )
        context = dict(self.request.context) if self.request.context is not None else {}
        if tested.in_map and "Map" not in context:
            # A state of a Map's ItemProcessor sees the item it works on: item 0, this input.
            context["Map"] = {"Item": {"Index": 0, "Value": self.request.input}}
        try:
            self.execution = InspectingExecution(
                instrument(tested.compiled, tested.name, self.recorder),
                self.request.input,
                identity,
                (clock or SystemClock()).now,
                tested=tested.name,
                recorder=self.recorder,
                variables=self.request.variables,
                context=context or None,
                mock=self.request.mock,
                map_failures=self.request.map_iteration_failure_count,
                retry_count=self.request.retrier_retry_count,
            )
        except StatesError as exc:  # the input is over the payload quota
            raise TestStateError(INVALID_EXECUTION_INPUT, exc.cause) from None
        self.execution.region = region
        self.runner = _Runner(
            tasks, http=http, connections=connections, roles=roles, region=region, account=account
        )

    def next_task(self, effects: list[Any]) -> TaskEffect | None:
        """Advance through timers until the test is over (``None``) or waits on a task."""
        execution, recorder = self.execution, self.recorder
        for _ in range(_MAX_ROUNDS):
            if execution.done or recorder.retry_delay is not None:
                return None
            task = None
            for effect in effects:
                if isinstance(effect, TaskEffect):
                    task = effect
                else:
                    # A Wait state's timer: TestState does not wait.
                    execution.fire_timer(effect.id)
            if task is not None:
                return task
            if not effects:
                raise RuntimeError("the tested state waits on nothing")  # a bug
            effects = execution.advance()
        raise RuntimeError("the tested state did not finish")  # a bug

    def mocked(self) -> Outcome | None:
        """The Task's outcome when it is mocked."""
        mock = self.request.mock
        if mock is None:
            return None
        if mock.has_result:
            return (mock.result, None, None, None)
        return (None, mock.error, mock.cause, None)

    async def run_task(self, effect: TaskEffect) -> Outcome:
        """Run the Task's resource within its own limits and TestState's five minutes."""
        try:
            _, result, error, cause, retry_after = await asyncio.wait_for(
                _run_task(self.runner, effect), self.time_limit
            )
        except TimeoutError:
            return (
                None,
                TIMEOUT,
                f"The state ran longer than TestState allows ({self.time_limit:g} seconds).",
                None,
            )
        return (result, error, cause, retry_after)

    def complete(self, effect: TaskEffect, outcome: Outcome) -> list[Any]:
        result, error, cause, retry_after = outcome
        self.execution.complete_task(
            effect.id, result, error=error, cause=cause, retry_after=retry_after
        )
        return self.execution.advance()

    def response(self) -> dict[str, Any]:
        return build_response(self.request, self.recorder, self.execution, self.runner.exchange)


def test_state(
    request: Mapping[str, Any],
    *,
    tasks: Mapping[str, TaskHandler] | TaskRegistry | None = None,
    connections: Connections | None = None,
    roles: Roles | None = None,
    http: HttpTask | None = None,
    region: str = "us-east-1",
    account: str = "123456789012",
    clock: Clock | None = None,
    time_limit_seconds: float = DEFAULT_TIME_LIMIT_SECONDS,
) -> dict[str, Any]:
    """Test one state, as AWS's ``TestState`` does.

    Not for use inside a running event loop: await :func:`test_state_async` there.

    Args:
        request: botocore's ``TestStateInput``: ``definition`` (required), ``roleArn``,
            ``input``, ``inspectionLevel``, ``revealSecrets``, ``variables``, ``stateName``,
            ``mock``, ``context``, ``stateConfiguration``.
        tasks: ``{resource ARN: callable}`` serving Task states (as for ``StateMachine``).
            An :class:`~stepline.tasks.HttpTask` registered for ``http:invoke`` here is used
            (and ``TRACE`` shows its exchange); a plain callable there replaces the HTTP Task.
        connections: The connections an HTTP Task may use.
        roles: IAM roles whose policies the HTTP Task enforces for ``roleArn``.
        http: A ready :class:`~stepline.tasks.HttpTask` for ``http:invoke`` when ``tasks``
            does not serve it (built from ``connections`` and ``roles`` when omitted).
        region: Region in ARNs and the HTTP Task's ``User-Agent``.
        account: Account id in ARNs.
        clock: Time source for ``$$`` timestamps (nothing waits on it).
        time_limit_seconds: How long a task may run (AWS: five minutes).

    Returns:
        botocore's ``TestStateOutput``: ``status`` always; ``output``, ``error``, ``cause``,
        ``nextState`` and ``inspectionData`` as they apply.

    Raises:
        TestStateError: The request is refused, with AWS's error code.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError(
            "test_state() was called inside a running event loop; use "
            "'await test_state_async(...)' there."
        )
    test = _Test(
        request,
        tasks=tasks,
        connections=connections,
        roles=roles,
        http=http,
        region=region,
        account=account,
        clock=clock,
        time_limit_seconds=time_limit_seconds,
    )
    task = test.next_task(test.execution.advance())
    for _ in range(_MAX_ROUNDS):
        if task is None:
            return test.response()
        outcome = test.mocked() or asyncio.run(test.run_task(task))
        task = test.next_task(test.complete(task, outcome))
    raise RuntimeError("the tested state did not finish")  # a bug


async def test_state_async(
    request: Mapping[str, Any],
    *,
    tasks: Mapping[str, TaskHandler] | TaskRegistry | None = None,
    connections: Connections | None = None,
    roles: Roles | None = None,
    http: HttpTask | None = None,
    region: str = "us-east-1",
    account: str = "123456789012",
    clock: Clock | None = None,
    time_limit_seconds: float = DEFAULT_TIME_LIMIT_SECONDS,
) -> dict[str, Any]:
    """Like :func:`test_state`, awaited inside an event loop."""
    test = _Test(
        request,
        tasks=tasks,
        connections=connections,
        roles=roles,
        http=http,
        region=region,
        account=account,
        clock=clock,
        time_limit_seconds=time_limit_seconds,
    )
    task = test.next_task(test.execution.advance())
    for _ in range(_MAX_ROUNDS):
        if task is None:
            return test.response()
        outcome = test.mocked() or await test.run_task(task)
        task = test.next_task(test.complete(task, outcome))
    raise RuntimeError("the tested state did not finish")  # a bug


# Their names start with "test_": keep pytest from collecting them where tests import them.
test_state.__test__ = False  # type: ignore[attr-defined]
test_state_async.__test__ = False  # type: ignore[attr-defined]
