import Foundation
import LifeboatTestSupport

/// docs/drill-report.schema.json, applied to real reports with the `jsonschema` package
/// (JSON Schema 2020-12) from the tests' Python venv (scripts/sandbox/chroma-venv.sh).
enum ReportSchema {
    static let path = CLIReferenceTests.root + "/docs/drill-report.schema.json"

    /// The report's violations of the schema, one line each ("at /sources/0: …"); empty when it
    /// conforms.
    static func violations(of report: String) throws -> [String] {
        let python = CLIReferenceTests.root + "/.venv-chroma/bin/python"
        let script = """
            import json, sys
            sys.stderr = sys.stdout
            import jsonschema
            schema = json.load(open(sys.argv[1]))
            jsonschema.Draft202012Validator.check_schema(schema)
            report = json.load(open(sys.argv[2]))
            for e in sorted(jsonschema.Draft202012Validator(schema).iter_errors(report), key=lambda e: list(e.absolute_path)):
                print("at /" + "/".join(str(p) for p in e.absolute_path) + ": " + e.message)
            """
        let result = try runProgram(python, ["-c", script, path, report])
        guard result.status == 0 else { return ["the validator failed (exit \(result.status)): \(result.stdout)"] }
        return result.stdout.split(separator: "\n").map(String.init)
    }
}
