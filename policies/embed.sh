#!/bin/sh
# Regenerates Sources/CordonPolicy/BuiltinPolicies.swift from policies/*.json (byte-identical embedding).
cd "$(dirname "$0")/.."
{
printf '%s\n' '// GENERATED from policies/default.json and policies/strict.json — keep byte-identical.'
printf '%s\n' '// A test (BuiltinPolicyTests) compares these strings with the files; regenerate, never hand-edit.'
printf '\n'
printf '%s\n' 'public extension SandboxPolicy {'
printf '%s\n' '    /// The exact bytes of policies/default.json.'
printf '%s\n' '    static var defaultJSON: String { BuiltinPolicyText.defaultJSON }'
printf '%s\n' '    /// The exact bytes of policies/strict.json.'
printf '%s\n' '    static var strictJSON: String { BuiltinPolicyText.strictJSON }'
printf '\n'
printf '%s\n' '    /// policies/default.json, parsed once (it is validated by tests, so a failure here is a build defect).'
printf '%s\n' '    static var builtinDefault: SandboxPolicy { BuiltinPolicyText.defaultPolicy }'
printf '%s\n' '    /// policies/strict.json, parsed.'
printf '%s\n' '    static var builtinStrict: SandboxPolicy { BuiltinPolicyText.strictPolicy }'
printf '%s\n' '}'
printf '\n'
printf '%s\n' '/// Holder of the embedded policy texts.'
printf '%s\n' 'enum BuiltinPolicyText {'
printf '%s\n' '    // Parsed once: a load that takes the default policy must not re-parse 10 KiB of JSON.'
printf '%s\n' '    static let defaultPolicy = parsed(defaultJSON, "<builtin default>")'
printf '%s\n' '    static let strictPolicy = parsed(strictJSON, "<builtin strict>")'
printf '\n'
printf '%s\n' '    static func parsed(_ text: String, _ label: String) -> SandboxPolicy {'
printf '%s\n' '        do { return try SandboxPolicy.parse(Array(text.utf8), file: label) }'
printf '%s\n' '        catch { fatalError("embedded policy is invalid: \(error)") }'
printf '%s\n' '    }'
printf '\n'
printf '%s\n' '    static let defaultJSON = #"""'
cat policies/default.json
printf '\n%s\n' '"""#'
printf '\n'
printf '%s\n' '    static let strictJSON = #"""'
cat policies/strict.json
printf '\n%s\n' '"""#'
printf '%s\n' '}'
} > Sources/CordonPolicy/BuiltinPolicies.swift
