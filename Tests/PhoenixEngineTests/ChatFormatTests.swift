import PhoenixEngine
import Testing

@Suite struct ChatFormatTests {
    @Test func recognisesTemplatesByTheirMarkers() {
        #expect(ChatFormat(template: "{{ '<start_of_turn>' + role }}") == .gemma)
        #expect(ChatFormat(template: "{% for m in messages %}<|im_start|>{{ m.role }}") == .chatML)
        #expect(ChatFormat(template: "<|start_header_id|>{{ role }}<|end_header_id|>") == .llama3)
        #expect(ChatFormat(template: "{{ messages }}") == nil)
    }

    /// Gemma 3's published format: no system role (it joins the first user turn), the model's turn is `model`.
    @Test func gemmaRendering() {
        let text = ChatFormat.gemma.render([
            ChatMessage(.system, "Be brief."), ChatMessage(.user, "Hi"), ChatMessage(.assistant, "Hello!"),
            ChatMessage(.user, "Why?"),
        ])
        #expect(text == "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
            + "<start_of_turn>user\nWhy?<end_of_turn>\n<start_of_turn>model\n")
    }

    @Test func chatMLRendering() {
        #expect(ChatFormat.chatML.render([ChatMessage(.user, "Hi")]) == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    }
}
