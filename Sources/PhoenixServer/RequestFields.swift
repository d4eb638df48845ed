import Foundation

/// The members of one JSON object in a request, read one parameter at a time. Every failure is an
/// `APIError` (HTTP 400) that names the parameter by its full path, such as `messages[1].content`.
/// A member that is null counts as absent, as OpenAI's own clients send null for parameters left unset.
struct RequestFields {
    let members: [String: JSONValue]
    /// The path of this object inside the request, "" at the top level.
    let path: String

    init(members: [String: JSONValue], path: String = "") {
        self.members = members
        self.path = path
    }

    /// Parses a request body, which must be a single JSON object.
    init(body: Data) throws {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: body), case .object(let members) = value else {
            throw APIError.malformedJSON
        }
        self.init(members: members)
    }

    /// The full name of member `name`, for error messages.
    func qualified(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    /// Refuses the first member (in alphabetical order, so the message is stable) that is not in `allowed`.
    func rejectUnknown(allowing allowed: Set<String>) throws {
        if let unknown = members.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError.unknownParameter(qualified(unknown))
        }
    }

    /// The member's value, nil when absent or null.
    func value(_ name: String) -> JSONValue? {
        guard let value = members[name], value != .null else { return nil }
        return value
    }

    func bool(_ name: String) throws -> Bool? {
        guard let value = value(name) else { return nil }
        guard case .bool(let flag) = value else { throw APIError.wrongType(qualified(name), expected: "a boolean", got: value) }
        return flag
    }

    func string(_ name: String) throws -> String? {
        guard let value = value(name) else { return nil }
        guard case .string(let text) = value else { throw APIError.wrongType(qualified(name), expected: "a string", got: value) }
        return text
    }

    func object(_ name: String) throws -> RequestFields? {
        guard let value = value(name) else { return nil }
        guard case .object(let members) = value else { throw APIError.wrongType(qualified(name), expected: "an object", got: value) }
        return RequestFields(members: members, path: qualified(name))
    }

    /// An integer in `range`. A whole number written with a fraction (`16.0`) is accepted as that integer.
    func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = value(name) else { return nil }
        let outOfRange = APIError.outOfRange(qualified(name),
                                             "expected an integer from \(range.lowerBound) to \(range.upperBound)")
        switch value {
        case .integer(let number):
            guard range.contains(number) else { throw outOfRange }
            return number
        case .number(let number) where number.isFinite && number.rounded() == number:
            // Int(exactly:), not a comparison with Double(Int.max): that rounds up to 2^63, which Int cannot hold.
            guard let integer = Int(exactly: number), range.contains(integer) else { throw outOfRange }
            return integer
        default:
            throw APIError.wrongType(qualified(name), expected: "an integer", got: value)
        }
    }

    /// Any integer; used for `seed`, whose whole 64-bit range is meaningful.
    func integer(_ name: String) throws -> Int? {
        try integer(name, in: Int.min...Int.max)
    }

    /// A finite number for which `isValid` holds; `requirement` says what that means in the error message.
    func number(_ name: String, _ requirement: String, where isValid: (Double) -> Bool) throws -> Double? {
        guard let value = value(name) else { return nil }
        let number: Double
        switch value {
        case .integer(let integer): number = Double(integer)
        case .number(let double): number = double
        default: throw APIError.wrongType(qualified(name), expected: "a number", got: value)
        }
        guard number.isFinite && isValid(number) else { throw APIError.outOfRange(qualified(name), requirement) }
        return number
    }

    /// A number in a closed range.
    func number(_ name: String, in range: ClosedRange<Double>) throws -> Double? {
        try number(name, "expected a number from \(range.lowerBound) to \(range.upperBound)") { range.contains($0) }
    }
}
