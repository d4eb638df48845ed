import NIOCore
import Synchronization

/// Notices when a client stops sending or its connection drops, and tells the requests being answered
/// on that connection.
///
/// Hummingbird allows remote half-closure, so a client that closes its socket while the server is
/// still generating does not close the channel: the server only sees `ChannelEvent.inputClosed` (or
/// `channelInactive` after a reset). Nothing is read or written on the connection while a request waits
/// for admission or prefills, so without this handler a departed client would keep its KV blocks until
/// its first write failed.
final class ClientHangupHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Any
    typealias InboundOut = Any

    private var hungUp = false
    /// What to call on hangup, by watch id; a keep-alive connection serves many requests, so each
    /// request's watch is removed when its answer is done.
    private var watchers: [UInt64: @Sendable () -> Void] = [:]
    private static let nextWatchID = Atomic<UInt64>(0)

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { hangUp() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        hangUp()
        context.fireChannelInactive()
    }

    private func hangUp() {
        hungUp = true
        let callbacks = watchers.values
        watchers = [:]
        for callback in callbacks { callback() }
    }

    /// One request's interest in its client's hangup.
    struct Watch: Sendable {
        fileprivate let channel: (any Channel)?
        fileprivate let id: UInt64

        /// Stops watching; the callback will not be called after this has run on the event loop.
        func cancel() {
            guard let channel else { return }
            let id = id
            channel.eventLoop.execute {
                (try? channel.pipeline.syncOperations.handler(type: ClientHangupHandler.self))?.watchers[id] = nil
            }
        }
    }

    /// Calls `onHangup` (on the event loop) when the client on `channel` hangs up, at once if it already
    /// has. A channel without this handler (router tests) is never reported.
    static func watch(_ channel: any Channel, onHangup: @escaping @Sendable () -> Void) -> Watch {
        let id = nextWatchID.add(1, ordering: .relaxed).newValue
        channel.eventLoop.execute {
            guard let handler = try? channel.pipeline.syncOperations.handler(type: ClientHangupHandler.self) else { return }
            if handler.hungUp { onHangup() } else { handler.watchers[id] = onHangup }
        }
        return Watch(channel: channel, id: id)
    }
}
