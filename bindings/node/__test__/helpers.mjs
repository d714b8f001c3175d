// Shared helpers of the Node binding's tests.
import * as authflow from '../index.js'

export { authflow }

export const EMAIL = 'ada@example.com'
export const ROLE = 'detective'
export const PASSWORD = 'TestPass123!'
export const WRONG = 'Wr0ng-Pass-42!'

/** Run `body` with a fresh in-process mock, shut down afterwards. */
export async function withMock(body) {
  const mock = await authflow.MockServer.start()
  try {
    return await body(mock, new authflow.AuthFlowClient(mock.apiKey, mock.baseUrl))
  } finally {
    await mock.shutdown()
  }
}

/** The `token` query parameter of an emailed link, as a `Secret`. */
export function linkToken(link) {
  return new authflow.Secret(new URL(link).searchParams.get('token'))
}
