import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Output helpers: stdout for results, stderr for diagnostics and progress.
enum Terminal {
    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Whether stdout is a terminal; progress is shown only then (nothing extra when piped).
    static var isInteractive: Bool { isatty(1) == 1 && isatty(2) == 1 }

    /// Runs `body`; if it takes longer than half a second on a terminal, a spinner line on stderr
    /// says what is being waited for, and is erased when the wait ends.
    static func withProgress<T>(_ label: String, _ body: () async throws -> T) async throws -> T {
        guard isInteractive else { return try await body() }
        let spinner = Task {
            do { try await Task.sleep(for: .milliseconds(500)) } catch { return }
            let frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
            let start = ContinuousClock.now
            var index = 0
            while !Task.isCancelled {
                let elapsed = (ContinuousClock.now - start) + .milliseconds(500)
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                FileHandle.standardError.write(Data("\r\(frames[index % frames.count]) \(label) \(String(format: "%.1f", seconds))s".utf8))
                index += 1
                do { try await Task.sleep(for: .milliseconds(100)) } catch { break }
            }
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        }
        // The spinner erases its line before any result or error is printed.
        do {
            let result = try await body()
            spinner.cancel()
            await spinner.value
            return result
        } catch {
            spinner.cancel()
            await spinner.value
            throw error
        }
    }
}
