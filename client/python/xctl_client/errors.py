"""The exceptions the client raises for refused or failed calls.

Every failure is an ``XctlError`` with the gRPC code name, the server's message for a person,
and the stable ``reason`` for programs (docs/api.md, "Error reasons"); the subclass says what
kind of failure it is, so callers can write ``except InsufficientMarginError:`` or
``except Unavailable:`` instead of comparing strings.
"""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


class XctlError(Exception):
    """A call to xctld failed.

    ``code`` is the gRPC status code name (``"NOT_FOUND"``,
    ``"INVALID_ARGUMENT"``, ``"FAILED_PRECONDITION"``, ``"UNAVAILABLE"``, ...;
    docs/api.md lists when each is used) and ``message`` the server's message,
    written for a person (``strategy "x" not found``). ``UNAVAILABLE`` also
    covers a server that cannot be reached; retrying an order with the same
    ``client_order_id`` is then safe.
    """

    code: str
    message: str
    #: The stable reason (``"INSUFFICIENT_MARGIN"``; the code name when the server gave none).
    reason: str
    #: ErrorInfo metadata, e.g. ``{"blofin_code": "102002"}`` for a refusal of BloFin's.
    metadata: dict[str, str]
    #: Seconds the server advises to wait before a retry (RetryInfo), or None.
    retry_after: float | None
    #: Field violations of a refused request (BadRequest): ``{"quantity": "must be ..."}``.
    field_violations: dict[str, str]

    def __init__(self, code: str, message: str, reason: str | None = None,
                 metadata: dict[str, str] | None = None, retry_after: float | None = None,
                 field_violations: dict[str, str] | None = None) -> None:
        """Creates the error from a status code name, a message and the status details."""
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.reason = reason or code
        self.metadata = dict(metadata or {})
        self.retry_after = retry_after
        self.field_violations = dict(field_violations or {})

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"XctlError({self.code!r}, {self.message!r})"

    @property
    def status_code(self) -> grpc.StatusCode | None:
        """The code as a ``grpc.StatusCode``, or None for a name gRPC does not know."""
        return getattr(grpc.StatusCode, self.code, None)

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> XctlError:
        """Converts the error of a failed gRPC call (a ``grpc.Call``) into the XctlError
        subclass of its reason, or else of its code, with the details xctld sent."""
        code = error.code() if hasattr(error, "code") else None
        details = error.details() if hasattr(error, "details") else None
        name = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
        reason, metadata, retry_after, violations = None, {}, None, {}
        status = rpc_status.from_call(error) if hasattr(error, "trailing_metadata") else None
        for any_detail in status.details if status is not None else ():
            info = error_details_pb2.ErrorInfo()
            retry = error_details_pb2.RetryInfo()
            bad = error_details_pb2.BadRequest()
            if any_detail.Unpack(info):
                reason, metadata = info.reason, dict(info.metadata)
            elif any_detail.Unpack(retry):
                retry_after = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
            elif any_detail.Unpack(bad):
                violations = {v.field: v.description for v in bad.field_violations}
        kind = _BY_REASON.get(reason or "") or _BY_CODE.get(name, cls)
        return kind(name, details or str(error), reason, metadata, retry_after, violations)


class InvalidArgument(XctlError):
    """The request is malformed (``field_violations`` says where)."""


class NotFound(XctlError):
    """No such strategy, order, position or instrument."""


class AlreadyExists(XctlError):
    """Something with that id exists already."""


class FailedPrecondition(XctlError):
    """The request is valid but cannot be done now (see ``reason``)."""


class Unavailable(XctlError):
    """xctld, its database or the exchange cannot be reached now; retrying (with the same
    ``client_order_id``) is safe."""


class ResourceExhausted(XctlError):
    """Rate limited or a limit reached; wait ``retry_after`` seconds."""


class PermissionDenied(XctlError):
    """The token may not do this."""


class Unauthenticated(XctlError):
    """No token, or a wrong one."""


class InsufficientMarginError(FailedPrecondition):
    """Not enough margin for the order (reason ``INSUFFICIENT_MARGIN``)."""


class PriceStaleError(FailedPrecondition):
    """No fresh price to fill at (reason ``PRICE_STALE``)."""


class StrategyNotRunningError(FailedPrecondition):
    """The strategy is stopped or failed (reason ``STRATEGY_NOT_RUNNING``)."""


class ExchangeRejectedError(FailedPrecondition):
    """The exchange refused the order; ``metadata["blofin_code"]`` has its code."""



_BY_CODE: dict[str, type[XctlError]] = {
    "INVALID_ARGUMENT": InvalidArgument,
    "NOT_FOUND": NotFound,
    "ALREADY_EXISTS": AlreadyExists,
    "FAILED_PRECONDITION": FailedPrecondition,
    "UNAVAILABLE": Unavailable,
    "RESOURCE_EXHAUSTED": ResourceExhausted,
    "PERMISSION_DENIED": PermissionDenied,
    "UNAUTHENTICATED": Unauthenticated,
}
_BY_REASON: dict[str, type[XctlError]] = {
    "INSUFFICIENT_MARGIN": InsufficientMarginError,
    "PRICE_STALE": PriceStaleError,
    "STRATEGY_NOT_RUNNING": StrategyNotRunningError,
    "EXCHANGE_REJECTED": ExchangeRejectedError,
}
