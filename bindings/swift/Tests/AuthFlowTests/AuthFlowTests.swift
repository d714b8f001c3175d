// `swift test` on macOS (see README.md). These tests cannot run on the
// Linux CI of this repository (no Swift toolchain there); scripts/test-swift
// parses this file with tree-sitter-swift and exercises the same calls
// through the C scaffolding instead (harness/harness.c).
import AuthFlow
import XCTest

final class AuthFlowTests: XCTestCase {
    let email = "ada@example.com"
    let role = "detective"

    func testSignUpThenLogIn() async throws {
        let mock = try await MockServer.start()
        let client = try AuthFlowClient(apiKey: mock.apiKey(), baseUrl: mock.baseUrl())
        let password = Secret(value: "TestPass123!")

        let session = try await client.signUp(
            email: email, password: password, fullname: "Ada", role: role)
        XCTAssertEqual(session.email, email)
        XCTAssertEqual(try mock.latestEmail(address: email)?.kind, "verification")

        let outcome = try await client.login(email: email, password: password, role: role)
        guard case let .session(signedIn) = outcome else {
            return XCTFail("expected a session, got a 2FA challenge")
        }
        XCTAssertEqual(signedIn.email, email)
        let valid = try await client.validate(session: signedIn)
        XCTAssertTrue(valid)
        await mock.shutdown()
    }

    func testWrongPasswordIsUnauthorizedAndSecretsStayHidden() async throws {
        let mock = try await MockServer.start()
        let client = try AuthFlowClient(apiKey: mock.apiKey(), baseUrl: mock.baseUrl())
        let password = Secret(value: "TestPass123!")
        _ = try await client.signUp(email: email, password: password, fullname: "Ada", role: role)

        let wrong = Secret(value: "WrongPass999!")
        XCTAssertEqual("\(wrong)", "[REDACTED]")
        do {
            _ = try await client.login(email: email, password: wrong, role: role)
            XCTFail("a wrong password signed in")
        } catch let error as AuthflowError {
            XCTAssertEqual(error.code(), "unauthorized")
            XCTAssertEqual(error.status(), 401)
            for text in ["\(error)", error.detail(), error.localizedDescription] {
                XCTAssertFalse(text.contains("WrongPass999!"), text)
                XCTAssertFalse(text.contains(mock.apiKey().expose()), text)
            }
        }
        await mock.shutdown()
    }
}
