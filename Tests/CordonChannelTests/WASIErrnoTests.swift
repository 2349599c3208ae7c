@testable import CordonChannel
import Testing

/// The errno table both sides of the channel share: its raw values are witx's numbers, which the
/// guest and wasi-libc read, so each is pinned here rather than trusted to the order of the cases.
@Suite struct WASIErrnoTests {
    @Test func rawValuesAreTheWitxNumbers() {
        let pinned: [(WASIErrno, UInt16, String)] = [
            (.success, 0, "SUCCESS"), (.tooBig, 1, "2BIG"), (.access, 2, "ACCES"), (.again, 6, "AGAIN"),
            (.badFileDescriptor, 8, "BADF"), (.exist, 20, "EXIST"), (.fault, 21, "FAULT"), (.invalid, 28, "INVAL"),
            (.io, 29, "IO"), (.isDirectory, 31, "ISDIR"), (.loop, 32, "LOOP"), (.nameTooLong, 37, "NAMETOOLONG"),
            (.noEntry, 44, "NOENT"), (.noMemory, 48, "NOMEM"), (.noSys, 52, "NOSYS"), (.notDirectory, 54, "NOTDIR"),
            (.notEmpty, 55, "NOTEMPTY"), (.notSocket, 57, "NOTSOCK"), (.notSupported, 58, "NOTSUP"),
            (.noDeviceOrAddress, 60, "NXIO"), (.overflow, 61, "OVERFLOW"), (.permission, 63, "PERM"),
            (.readOnlyFileSystem, 69, "ROFS"), (.invalidSeek, 70, "SPIPE"), (.crossDevice, 75, "XDEV"),
            (.notCapable, 76, "NOTCAPABLE"),
        ]
        for (errno, value, name) in pinned {
            #expect(errno.rawValue == value, "\(name)")
            #expect(errno.name == name)
        }
        #expect(WASIErrno.allCases.count == 77)
        #expect(WASIErrno.maximum == 76)
        #expect(Set(WASIErrno.allCases.map(\.name)).count == 77)
    }
}
