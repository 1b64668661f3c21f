using System.Text;

namespace OfflineKit.Rpm;

/// <summary>The operators of rpm's boolean ("rich") dependencies.</summary>
public enum RichOperator
{
    And,
    Or,
    If,
    Unless,
    With,
    Without,
}

/// <summary>
/// A node of a parsed boolean dependency such as <c>(container-selinux if selinux-policy)</c>:
/// either a plain <see cref="RichTerm"/> or an <see cref="RichExpression"/>.
/// </summary>
public abstract record RichNode;

public sealed record RichTerm(RpmDependency Dependency) : RichNode
{
    public override string ToString() => Dependency.ToString();
}

/// <summary>
/// <c>and</c>/<c>or</c>/<c>with</c> take two or more operands; <c>without</c> exactly two;
/// <c>if</c>/<c>unless</c> take <c>Operands[0] if Operands[1]</c> and an optional <see cref="Else"/>.
/// </summary>
public sealed record RichExpression(RichOperator Operator, IReadOnlyList<RichNode> Operands, RichNode? Else = null) : RichNode
{
    public override string ToString()
    {
        var op = " " + Operator.ToString().ToLowerInvariant() + " ";
        return "(" + string.Join(op, Operands) + (Else is null ? string.Empty : " else " + Else) + ")";
    }
}

/// <summary>
/// Parses rpm's rich dependency syntax as rpm's <c>rpmrichParse</c> does: operators of one kind may
/// chain (<c>a and b and c</c>), different ones need parentheses, <c>if</c>/<c>unless</c> take one
/// optional <c>else</c>, and a name may itself hold balanced parentheses (<c>libc.so.6()(64bit)</c>).
/// </summary>
public static class RichDependency
{
    public static RichNode Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var p = new Parser(text);
        p.SkipSpace();
        if (!p.Peek('('))
        {
            throw p.Error("a rich dependency starts with '('");
        }

        var node = p.ParseGroup();
        p.SkipSpace();
        if (!p.AtEnd)
        {
            throw p.Error("unexpected text after the closing ')'");
        }

        return node;
    }

    private sealed class Parser(string text)
    {
        private int _pos;

        public bool AtEnd => _pos >= text.Length;

        public bool Peek(char c) => _pos < text.Length && text[_pos] == c;

        public void SkipSpace()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos]))
            {
                _pos++;
            }
        }

        public FormatException Error(string what) =>
            new($"bad rich dependency '{text}' at position {_pos + 1}: {what}");

        // '(' operand (op operand)* [else operand] ')'
        public RichNode ParseGroup()
        {
            _pos++; // '('
            var operands = new List<RichNode> { ParseOperand() };
            RichOperator? op = null;
            RichNode? otherwise = null;
            while (true)
            {
                SkipSpace();
                if (Peek(')'))
                {
                    _pos++;
                    break;
                }

                var word = ReadWord();
                if (word == "else")
                {
                    if (op is not (RichOperator.If or RichOperator.Unless) || otherwise is not null || operands.Count != 2)
                    {
                        throw Error("'else' only follows 'if' or 'unless'");
                    }

                    otherwise = ParseOperand();
                    continue;
                }

                var next = word switch
                {
                    "and" => RichOperator.And,
                    "or" => RichOperator.Or,
                    "if" => RichOperator.If,
                    "unless" => RichOperator.Unless,
                    "with" => RichOperator.With,
                    "without" => RichOperator.Without,
                    "" => throw Error("missing ')'"),
                    _ => throw Error($"'{word}' is not an operator (and, or, if, unless, with, without, else)"),
                };
                if (otherwise is not null)
                {
                    throw Error("nothing may follow the 'else' operand");
                }

                if (op is not null && (op != next || next is RichOperator.If or RichOperator.Unless or RichOperator.Without))
                {
                    throw Error($"'{word}' after '{op.ToString()!.ToLowerInvariant()}' needs parentheses");
                }

                op = next;
                operands.Add(ParseOperand());
            }

            if (op is null)
            {
                // "(a)" is a plain dependency in parentheses.
                return operands[0];
            }

            return new RichExpression(op.Value, operands, otherwise);
        }

        private RichNode ParseOperand()
        {
            SkipSpace();
            if (AtEnd)
            {
                throw Error("missing an operand");
            }

            if (Peek('('))
            {
                return ParseGroup();
            }

            var name = ReadName();
            if (name.Length == 0)
            {
                throw Error("missing a dependency name");
            }

            var save = _pos;
            SkipSpace();
            var opText = ReadOperator();
            if (opText.Length == 0)
            {
                _pos = save;
                return new RichTerm(new RpmDependency(name));
            }

            SkipSpace();
            var version = ReadName();
            if (RpmDependency.ParseOperator(opText) is not { } flags || !Evr.TryParse(version, out var evr))
            {
                throw Error($"bad version relation '{name} {opText} {version}'");
            }

            return new RichTerm(new RpmDependency(name, flags, evr));
        }

        // A name ends at whitespace or at a ')' that closes the group; parentheses inside a name
        // (sonames such as libc.so.6()(64bit)) stay balanced.
        private string ReadName()
        {
            var sb = new StringBuilder();
            var depth = 0;
            while (_pos < text.Length)
            {
                var c = text[_pos];
                if (char.IsWhiteSpace(c))
                {
                    break;
                }

                if (c == '(')
                {
                    depth++;
                }
                else if (c == ')')
                {
                    if (depth == 0)
                    {
                        break;
                    }

                    depth--;
                }

                sb.Append(c);
                _pos++;
            }

            return sb.ToString();
        }

        private string ReadWord()
        {
            var start = _pos;
            while (_pos < text.Length && char.IsAsciiLetter(text[_pos]))
            {
                _pos++;
            }

            return text[start.._pos];
        }

        private string ReadOperator()
        {
            var start = _pos;
            while (_pos < text.Length && text[_pos] is '<' or '>' or '=')
            {
                _pos++;
            }

            return text[start.._pos];
        }
    }
}
