"""The one exception type the client raises for refused or failed calls."""

from __future__ import annotations

import grpc


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

    def __init__(self, code: str, message: str) -> None:
        """Creates the error from a status code name and a message."""
        super().__init__(code, message)
        self.code = code
        self.message = message

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
        """Converts the error of a failed gRPC call (a ``grpc.Call``) into an XctlError."""
        code = error.code() if hasattr(error, "code") else None
        details = error.details() if hasattr(error, "details") else None
        name = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
        return cls(name, details or str(error))
