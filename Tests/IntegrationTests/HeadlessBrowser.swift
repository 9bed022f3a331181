import Foundation
import LifeboatCore
import LifeboatTestSupport

/// A real browser, Debian's `chromium` in headless mode, rendering a page to a PNG; and what the
/// PNG holds, read with Python's standard library (zlib), so a test can tell a rendered report
/// from a blank or broken page.
enum HeadlessBrowser {
    static let binary = "/usr/bin/chromium"

    /// What a screenshot shows: its size, the share of pixels that differ from the page's
    /// background (the top-left pixel), how many distinct colours it has, and how many pixels
    /// have each colour asked about (`#rrggbb`).
    struct Picture {
        var width = 0
        var height = 0
        var inkFraction = 0.0
        var colours = 0
        var counts: [String: Int] = [:]
    }

    /// Renders `page` (an HTML file) at `width`×`height` into `png`.
    static func screenshot(_ page: String, to png: String, width: Int = 1200, height: Int = 1800) throws {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw LifeboatError(.operationFailed, "chromium is not installed (scripts/setup.sh test installs it)")
        }
        let profile = NSTemporaryDirectory() + "lifeboat-chromium-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let result = try runProgram(
            "/usr/bin/timeout",
            [
                "120", binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=\(profile)",
                "--window-size=\(width),\(height)", "--screenshot=\(png)", URL(fileURLWithPath: page).absoluteString,
            ])
        guard result.status == 0, FileManager.default.fileExists(atPath: png) else {
            throw LifeboatError(.operationFailed, "chromium exited \(result.status) without a screenshot: \(result.stdout)")
        }
    }

    /// Decodes an 8-bit RGB or RGBA PNG (what chromium writes) and measures it.
    static func look(at png: String, counting wanted: [String]) throws -> Picture {
        let script = """
            import json, struct, sys, zlib
            data = open(sys.argv[1], "rb").read()
            assert data[:8] == b"\\x89PNG\\r\\n\\x1a\\n", "not a PNG"
            pos, idat = 8, b""
            while pos < len(data):
                n, kind = struct.unpack(">I4s", data[pos:pos + 8])
                body = data[pos + 8:pos + 8 + n]
                if kind == b"IHDR": w, h, depth, colour = struct.unpack(">IIBB", body[:10])
                if kind == b"IDAT": idat += body
                pos += 12 + n
            assert depth == 8 and colour in (2, 6), f"PNG depth {depth} colour type {colour}"
            bpp = 3 if colour == 2 else 4
            raw, stride = zlib.decompress(idat), w * bpp
            prev, pixels = bytearray(stride), []
            for y in range(h):
                f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
                for i in range(stride):
                    a = line[i - bpp] if i >= bpp else 0
                    b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
                    if f == 1: line[i] = (line[i] + a) & 255
                    elif f == 2: line[i] = (line[i] + b) & 255
                    elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
                    elif f == 4:
                        p = a + b - c
                        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                        line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
                pixels.extend(bytes(line[i:i + 3]) for i in range(0, stride, bpp))
                prev = line
            background = pixels[0]
            counts = {}
            for p in pixels: counts[p] = counts.get(p, 0) + 1
            wanted = {k: bytes.fromhex(k[1:]) for k in sys.argv[2:]}
            print(json.dumps({"width": w, "height": h, "ink": 1 - counts[background] / len(pixels), "colours": len(counts),
                              "counts": {k: counts.get(v, 0) for k, v in wanted.items()}}))
            """
        let result = try runProgram("/usr/bin/python3", ["-c", script, png] + wanted)
        guard result.status == 0, let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw LifeboatError(.operationFailed, "could not read \(png) (exit \(result.status)): \(result.stdout)")
        }
        return Picture(
            width: object["width"] as? Int ?? 0, height: object["height"] as? Int ?? 0, inkFraction: object["ink"] as? Double ?? 0,
            colours: object["colours"] as? Int ?? 0, counts: object["counts"] as? [String: Int] ?? [:])
    }
}
