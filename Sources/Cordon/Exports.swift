@_exported import CordonPolicy
import CordonChannel

/// A WebAssembly number value passed to or returned from a plugin export.
public typealias WasmValue = CordonChannel.WasmValue
/// A WebAssembly number type.
public typealias WasmType = CordonChannel.WasmType
/// The signature of a plugin export.
public typealias ExportedFunction = CordonChannel.ExportedFunction
/// An export whose signature cannot cross the worker channel, and the type that prevents it.
public typealias UnsupportedExport = CordonChannel.UnsupportedExport
/// Why a guest trapped, classified.
public typealias TrapKind = CordonChannel.TrapKind
/// A WASI preview-1 errno: the status of a brokered WASI call.
public typealias WASIErrno = CordonChannel.WASIErrno
/// The negative status codes host functions return to guests.
public typealias ABIErrorCode = CordonChannel.ABIErrorCode
