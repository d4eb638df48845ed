import PhoenixEngine

/// Prompts of about a given number of tokens for `phoenix loadtest`, made without the server's tokenizer
/// (the server under test may be any OpenAI-compatible one): common short English words, each a single
/// token in the usual vocabularies when written with its leading space.
///
/// The first `sharedPrefixTokens` words are the same in every prompt, so a server with prefix caching
/// can reuse them; the rest differ per request.
struct LoadTestPrompts {
    var promptTokens: Int
    var sharedPrefixTokens: Int
    var seed: UInt64

    static let words = """
        the of and to in is that it was for on are as with his they at be this from have or by one had not \
        but what all were when we there can an your which their said if do will each about how up out them \
        then she many some so these would other into has more her two like him see time could no make than \
        first been its who now people my made over did down only way find use may water long little very \
        after words called just where most know get through back much before go good new write our used me \
        man too any day same right look think also around another came come work three word must because \
        does part even place well such here take why things help put years different away again off went \
        old number great tell men say small every found still between name should home big give air line \
        set own under read last never us left end along while might next sound below saw something thought \
        both few those always looked show large often together asked house world going want school important \
        until form food keep children feet land side without boy once animals life enough took sometimes four \
        head above kind began almost live page got earth need far hand high year mother light parts country
        """.split(whereSeparator: \.isWhitespace).map(String.init)

    /// The prompt of request `index`.
    func prompt(index: Int) -> String {
        let shared = min(sharedPrefixTokens, promptTokens)
        var sharedWords = SeededRandom(seed: seed)
        // A different stream per request; the multiplier spreads neighbouring indices apart.
        var uniqueWords = SeededRandom(seed: seed ^ (0x9E37_79B9_7F4A_7C15 &* UInt64(index + 1)))
        let words = (0..<shared).map { _ in Self.words[sharedWords.next(below: Self.words.count)] }
            + (shared..<promptTokens).map { _ in Self.words[uniqueWords.next(below: Self.words.count)] }
        return words.joined(separator: " ")
    }
}
