import NIOCore
import PhoenixEngine

/// The client went away before its answer was complete.
struct ClientDisconnected: Error {}

extension AsyncThrowingStream where Element == ServingEvent, Failure == any Error {
    /// The same events, relayed until the client on `connection` hangs up (see `ClientHangupHandler`),
    /// when the relay ends with `ClientDisconnected`. Ending the relay for any reason (the last event,
    /// a hangup, a reader that stops: a failed write, a cancelled task) ends the iteration of the
    /// engine's stream, and that is what cancels the request in the engine.
    ///
    /// Why not only wait for a write to fail: a request still waiting for admission or in a long
    /// prefill writes nothing for a while. Why not Hummingbird's `consumeWithCancellationOnInboundClose`:
    /// it needs the request body unread, and by the time a request is submitted its body has been read.
    func relayed(until connection: any Channel) -> AsyncThrowingStream<ServingEvent, any Error> {
        let (relay, continuation) = AsyncThrowingStream<ServingEvent, any Error>.makeStream()
        let pump = Task {
            do {
                for try await event in self { continuation.yield(event) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        let watch = ClientHangupHandler.watch(connection) { continuation.finish(throwing: ClientDisconnected()) }
        continuation.onTermination = { _ in
            pump.cancel()
            watch.cancel()
        }
        return relay
    }
}
