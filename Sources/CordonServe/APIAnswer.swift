import Hummingbird
import NIOCore

/// One whole answer of the API: status, headers and body. The router returns it as a Hummingbird
/// `Response`; the call route, served on the event loop (`CallRequestHandler`), writes its parts.
struct APIAnswer: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: ByteBuffer

    static func json(_ status: Int, _ text: String) -> APIAnswer {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return APIAnswer(status: HTTPResponse.Status(code: status), headers: headers, body: ByteBuffer(string: text))
    }

    /// A refusal as the API's JSON error; a 401 names the scheme it wants.
    static func refusal(_ error: APIError) -> APIAnswer {
        var answer = json(error.status, error.json)
        if error.status == 401 { answer.headers[.wwwAuthenticate] = "Bearer" }
        return answer
    }

    var response: Response { Response(status: status, headers: headers, body: ResponseBody(byteBuffer: body)) }
}
