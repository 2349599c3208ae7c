@testable import Cordon
import Foundation
import Testing

/// `call(_:json:as:)` over the bytes convention, and exports whose signature cannot cross the channel.
@Suite struct TypedCallTests {
    struct Order: Codable, Equatable {
        var item: String
        var note: String
    }

    struct Shouted: Codable, Equatable {
        var ITEM: String
        var NOTE: String
    }

    /// Exports taking or returning types only WebAssembly itself can hold.
    static let references = """
    (module
      (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
      (func (export "takes_extern") (param externref))
      (func (export "gives_func") (result funcref) ref.null func)
      (func (export "mixed") (param i32 externref) (result i32) local.get 0))
    """

    @Test func jsonInJsonOut() async throws {
        let supervisor = try Fixtures.supervisor()
        // `upper` uppercases its input in place: JSON in, JSON (with upper-case keys and values) out.
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "json"), module: try Fixtures.wasm(Plugins.bytes))
        let shouted = try await plugin.call("upper", json: Order(item: "tea", note: "hot"), as: Shouted.self)
        #expect(shouted == Shouted(ITEM: "TEA", NOTE: "HOT"))
        #expect(try await plugin.call("upper", json: "quiet", as: String.self) == "QUIET")

        // Output of another shape: a typed error naming the export, not a partial value.
        do {
            _ = try await plugin.call("upper", json: Order(item: "tea", note: "hot"), as: Order.self)
            Issue.record("decoded")
        } catch {
            guard case .decodingFailed(let export, let reason) = error else { Issue.record("\(error)"); return }
            #expect(export == "upper" && reason.contains("item"), "\(reason)")
        }
        // Input JSON cannot carry: NaN (JSONEncoder's default refuses non-conforming floats).
        do {
            _ = try await plugin.call("upper", json: [Double.nan], as: [Double].self)
            Issue.record("encoded")
        } catch {
            guard case .encodingFailed(let export, _) = error else { Issue.record("\(error)"); return }
            #expect(export == "upper")
        }
        // The bytes convention's own checks still apply.
        await #expect(throws: CordonError.self) { _ = try await plugin.call("sleepy", json: 1, as: Int.self) }
        await supervisor.shutdown()
    }

    @Test func exportsWithReferenceTypesAreReportedAndRefusedByType() async throws {
        let supervisor = try Fixtures.supervisor()
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "refs"), module: try Fixtures.wasm(Self.references))
        #expect(await plugin.exports().map(\.name) == ["add"])
        #expect(await plugin.unsupportedExports() == [UnsupportedExport(name: "gives_func", type: "funcref"),
                                                      UnsupportedExport(name: "mixed", type: "externref"),
                                                      UnsupportedExport(name: "takes_extern", type: "externref")])
        await #expect(throws: CordonError.unsupportedSignature(export: "takes_extern", type: "externref")) {
            _ = try await plugin.call("takes_extern")
        }
        await #expect(throws: CordonError.unsupportedSignature(export: "gives_func", type: "funcref")) {
            _ = try await plugin.call("gives_func", bytes: [])
        }
        await #expect(throws: CordonError.noSuchExport("absent")) { _ = try await plugin.call("absent") }
        #expect(try await plugin.call("add", [.i32(1), .i32(2)]) == [.i32(3)])
        await supervisor.shutdown()
    }
}
