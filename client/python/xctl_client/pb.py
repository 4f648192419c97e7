"""The generated protobuf and gRPC modules of xctl.v1, for what the typed wrapper does not cover.

Example: ``pb.strategy_manager_pb2.UpdateStrategyRequest`` sent with
``Client.strategy_manager.UpdateStrategy``. The modules are generated at build
time (gen_protos.py) into ``xctl_client._gen``; a source checkout that was
never built lacks them, which is reported here with what to do instead of a
bare ModuleNotFoundError.
"""

from __future__ import annotations

try:
    from xctl_client._gen.xctl.v1 import exchange_control_pb2 as exchange_control_pb2
    from xctl_client._gen.xctl.v1 import exchange_control_pb2_grpc as exchange_control_pb2_grpc
    from xctl_client._gen.xctl.v1 import prices_pb2 as prices_pb2
    from xctl_client._gen.xctl.v1 import prices_pb2_grpc as prices_pb2_grpc
    from xctl_client._gen.xctl.v1 import strategy_manager_pb2 as strategy_manager_pb2
    from xctl_client._gen.xctl.v1 import strategy_manager_pb2_grpc as strategy_manager_pb2_grpc
    from xctl_client._gen.xctl.v1 import types_pb2 as types_pb2
except ModuleNotFoundError as e:  # pragma: no cover - only in an unbuilt source tree
    if not (e.name or "").startswith("xctl_client._gen"):
        raise
    raise ImportError(
        "xctl_client: the generated gRPC stubs (xctl_client._gen) are missing. Install the "
        "package (pip install <repo>/client/python), which generates them from proto/xctl/v1, "
        "or generate them in place with: python <repo>/client/python/gen_protos.py"
    ) from e

__all__ = [
    "exchange_control_pb2",
    "exchange_control_pb2_grpc",
    "prices_pb2",
    "prices_pb2_grpc",
    "strategy_manager_pb2",
    "strategy_manager_pb2_grpc",
    "types_pb2",
]
