extension Reference {
    public static func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, eps: Float, count: Int,
                               into out: UnsafeMutablePointer<Float>) {
        var sum: Double = 0
        for i in 0..<count { sum += Double(x[i]) * Double(x[i]) }
        let scale = 1 / (sum / Double(count) + Double(eps)).squareRoot()
        for i in 0..<count { out[i] = Float(Double(x[i]) * scale) * weight[i] }
    }
}
