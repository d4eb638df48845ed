import PhoenixEngine
import Testing

@Suite struct StopStringFilterTests {
    /// Feeds `pieces` and returns what was shown at each step, whether it stopped, and the total.
    static func run(_ stops: [String], _ pieces: [String]) -> ([String], Bool, String) {
        var filter = StopStringFilter(stops: stops)
        var shown = pieces.map { filter.push($0) }
        if !filter.stopped { shown.append(filter.flush()) }
        return (shown, filter.stopped, filter.emitted)
    }

    @Test func stopStringSplitAcrossPiecesIsNeverShown() {
        let (shown, stopped, total) = Self.run(["\n\nUser:"], ["Hello", "\n", "\nUs", "er:", " more"])
        #expect(stopped)
        #expect(total == "Hello")
        #expect(shown.joined() == "Hello")
    }

    @Test func heldBackTextIsReleasedWhenItIsNotAStop() {
        let (shown, stopped, total) = Self.run(["END"], ["abc E", "N", "x", "yz"])
        #expect(!stopped)
        #expect(shown == ["abc ", "", "ENx", "yz", ""])
        #expect(total == "abc ENxyz")
    }

    @Test func earliestStopWins() {
        let (_, stopped, total) = Self.run(["b", "xyz"], ["axyzb"])
        #expect(stopped && total == "a")
    }

    @Test func noStopsPassesEverythingThrough() {
        let (shown, stopped, total) = Self.run([], ["a", "é", "🙂"])
        #expect(!stopped && shown == ["a", "é", "🙂", ""] && total == "aé🙂")
    }

    @Test func textAtTheEndThatStartsAStopIsFlushed() {
        let (shown, _, total) = Self.run(["STOP"], ["go ST"])
        #expect(shown == ["go ", "ST"] && total == "go ST")
    }
}
