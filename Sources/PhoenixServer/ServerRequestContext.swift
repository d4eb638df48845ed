import Hummingbird
import NIOCore

/// Hummingbird's basic context plus the request's connection, whose `ClientHangupHandler` tells the
/// server when the client has gone away.
public struct ServerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection the request arrived on (a test channel without a hangup handler in router tests).
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        channel = source.channel
    }
}
