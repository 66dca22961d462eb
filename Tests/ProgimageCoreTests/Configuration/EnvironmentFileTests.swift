import Testing

@testable import ProgimageDeployment

/// `make install` reads the env file the workers read (systemd's `EnvironmentFile=`): the
/// nginx site must be generated from the values systemd will pass, quotes and all.
@Suite struct EnvironmentFileTests {
    @Test func assignmentsCommentsAndBlanks() {
        let variables = EnvironmentFile.parse(
            """
            # a comment
              ; another
            PROGIMAGE_A=1
              PROGIMAGE_B = two words\t
            PROGIMAGE_C=
            not an assignment
            PROGIMAGE_A=3
            """)
        #expect(variables == ["PROGIMAGE_A": "3", "PROGIMAGE_B": "two words", "PROGIMAGE_C": ""])
    }

    @Test func quotes() {
        let variables = EnvironmentFile.parse(
            #"""
            PROGIMAGE_CORS_ORIGINS="https://a.example, https://b.example"
            SINGLE='a "b" \n c'
            DOUBLE="a \"b\" \\ \$x \n"
            JOINED="a" 'b'c
            KEPT=" padded "
            """#)
        #expect(variables["PROGIMAGE_CORS_ORIGINS"] == "https://a.example, https://b.example")
        #expect(variables["SINGLE"] == #"a "b" \n c"#)
        #expect(variables["DOUBLE"] == #"a "b" \ $x \n"#)
        #expect(variables["JOINED"] == "abc")
        #expect(variables["KEPT"] == " padded ")
    }

    @Test func backslashesContinueLines() {
        let variables = EnvironmentFile.parse("A=one \\\ntwo\n# comment \\\nB=hidden\nC=x\\ y \nD=\"multi\nline\"\n")
        #expect(variables["A"] == "one two")
        #expect(variables["B"] == nil)
        #expect(variables["C"] == "x y")
        #expect(variables["D"] == "multi\nline")
    }

    @Test func theLastLineNeedsNoNewline() {
        #expect(EnvironmentFile.parse("A=1") == ["A": "1"])
        #expect(EnvironmentFile.parse("") == [:])
    }
}
