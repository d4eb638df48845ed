import PhoenixGGUF
import PhoenixKernels
import PhoenixQuant

/// Looks tensors up by GGUF name and checks their shapes, so a model's weights are either all right or
/// rejected with the name of the first tensor that is not.
struct TensorLoader {
    let file: GGUFFile
    /// Where the layers' matrices go when the model holds them itself; the model keeps it.
    let repacked: RepackedWeights?

    init(file: GGUFFile) {
        self.file = file
        repacked = RepackedWeights(for: file)
    }

    private func info(_ name: String) throws -> GGUFTensorInfo {
        guard let info = file.tensor(named: name) else { throw ModelError.missingTensor(name) }
        return info
    }

    func contains(_ name: String) -> Bool { file.tensor(named: name) != nil }

    /// A [columns, rows] GGUF tensor as a matrix of `rows` output features.
    func matrix(_ name: String, rows: Int, columns: Int) throws -> WeightMatrix {
        let info = try info(name)
        guard info.dimensions == [columns, rows] else {
            throw ModelError.wrongShape(tensor: name, expected: [columns, rows], found: info.dimensions)
        }
        if let repacked, RepackedWeights.holds(info) {
            return repacked.matrix(info, of: file, rows: rows, columns: columns)
        }
        return WeightMatrix(type: info.type, rows: rows, columns: columns, bytes: file.data(for: info))
    }

    /// A 1-D tensor of `count` values, as float32 (norm weights and biases are small: copied once).
    func vector(_ name: String, count: Int) throws -> [Float] {
        let info = try info(name)
        guard info.dimensions == [count] else {
            throw ModelError.wrongShape(tensor: name, expected: [count], found: info.dimensions)
        }
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBufferPointer { Quantization.dequantize(info.type, from: file.data(for: info), into: $0) }
        return values
    }

    func optionalVector(_ name: String, count: Int) throws -> [Float]? {
        contains(name) ? try vector(name, count: count) : nil
    }
}

extension TensorLoader {
    /// The number of rows (the second dimension) of a 2-D tensor: the vocabulary size of an embedding.
    func rowCount(_ name: String) throws -> Int {
        guard let info = file.tensor(named: name) else { throw ModelError.missingTensor(name) }
        guard info.dimensions.count == 2 else {
            throw ModelError.wrongShape(tensor: name, expected: [info.dimensions.first ?? 0, -1], found: info.dimensions)
        }
        return info.dimensions[1]
    }
}

extension DecoderShape {
    /// Rejects sizes the forward pass cannot run, naming the hyperparameter.
    func validate(_ arch: String) throws {
        func check(_ ok: Bool, _ key: String, _ reason: String) throws {
            if !ok { throw ModelError.badHyperparameter(key: "\(arch).\(key)", reason: reason) }
        }
        try check(embeddingDim > 0, "embedding_length", "must be positive")
        try check(layerCount > 0, "block_count", "must be positive")
        try check(headCount > 0, "attention.head_count", "must be positive")
        try check(kvHeadCount > 0 && headCount % kvHeadCount == 0, "attention.head_count_kv",
                  "\(kvHeadCount) must divide the head count \(headCount)")
        try check(headDim > 0 && headDim % 2 == 0, "attention.key_length", "\(headDim) must be positive and even")
        try check(ffnDim > 0, "feed_forward_length", "must be positive")
        try check(contextLength > 0, "context_length", "must be positive")
        try check(vocabularySize > 0, "token_embd.weight", "the vocabulary is empty")
    }
}
