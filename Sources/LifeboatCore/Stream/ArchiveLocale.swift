import Foundation

/// libarchive converts entry names through the C library's locale; in the default "C" locale a
/// UTF-8 name cannot be converted and pax header writing fails. Every archive handle is created
/// after `ArchiveLocale.ensureUTF8()`, which switches LC_CTYPE to a UTF-8 locale once.
enum ArchiveLocale {
    private static let configured: Bool = {
        for name in ["C.UTF-8", "C.utf8", "en_US.UTF-8"] where setlocale(LC_CTYPE, name) != nil {
            return true
        }
        return false
    }()

    static func ensureUTF8() {
        _ = configured
    }
}
