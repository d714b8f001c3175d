#!/usr/bin/env python3
"""Check that the generated Swift still declares what Tests/AuthFlowTests uses.

    tests_api.py GENERATED.swift

The XCTest file cannot be compiled here (no Swift compiler on Linux), so
each declaration it relies on is looked up in the generated Swift; a facade
change that renames or retypes one of them fails here, not first on a Mac.
Keep this list in step with Tests/AuthFlowTests/AuthFlowTests.swift.
"""

import re
import sys

# (what the test uses, a regex for its declaration in the generated Swift)
USED = [
    ("MockServer.start()", r"public static func start\(\)\s*async throws\s*->\s*MockServer\b"),
    ("MockServer.apiKey()", r"open func apiKey\(\)\s*->\s*Secret\b"),
    ("MockServer.baseUrl()", r"open func baseUrl\(\)\s*->\s*String\b"),
    ("MockServer.latestEmail(address:)", r"open func latestEmail\(address: String\)\s*throws\s*->\s*Email\?"),
    ("MockServer.shutdown()", r"open func shutdown\(\)\s*async\s*\{"),
    ("AuthFlowClient(apiKey:baseUrl:)", r"public convenience init\(apiKey: Secret, baseUrl: String\?\)\s*throws"),
    ("AuthFlowClient.signUp", r"open func signUp\(email: String, password: Secret, fullname: String, role: String\)\s*async throws\s*->\s*Session\b"),
    ("AuthFlowClient.login", r"open func login\(email: String, password: Secret, role: String\)\s*async throws\s*->\s*LoginOutcome\b"),
    ("AuthFlowClient.validate", r"open func validate\(session: Session\)\s*async throws\s*->\s*Bool\b"),
    ("LoginOutcome.session", r"public enum LoginOutcome\b[\s\S]*?case session\("),
    ("LoginOutcome.twoFactorRequired", r"public enum LoginOutcome\b[\s\S]*?case twoFactorRequired\("),
    ("Session.email", r"public struct Session\b[^}]*?public (?:var|let) email: String"),
    ("Email.kind", r"public struct Email\b[\s\S]*?public (?:var|let) kind: String"),
    ("Secret(value:)", r"public convenience init\(value: String\)"),
    ("Secret: CustomStringConvertible", r"open class Secret:[^{]*\bCustomStringConvertible\b"),
    ("Secret.expose()", r"open func expose\(\)\s*->\s*String\b"),
    ("AuthflowError: Error, LocalizedError", r"open class AuthflowError:[^{]*\bSwift\.Error\b[^{]*\bLocalizedError\b"),
    ("AuthflowError.code()", r"open func code\(\)\s*->\s*String\b"),
    ("AuthflowError.status()", r"open func status\(\)\s*->\s*UInt16\?"),
    ("AuthflowError.detail()", r"open func detail\(\)\s*->\s*String\b"),
]


def main() -> int:
    swift = open(sys.argv[1], encoding="utf-8").read()
    missing = [what for what, rx in USED if not re.search(rx, swift)]
    for what in missing:
        print(f"tests-api: the generated Swift no longer declares {what}", file=sys.stderr)
    print(f"tests-api: {len(USED) - len(missing)} passed, {len(missing)} failed")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
