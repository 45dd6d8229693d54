import { describe, expect, it } from 'vitest';
import { Allowlist, entryMatches, parseAllowlistEntry, parseCommand } from '../../src/agent/allowlist.ts';

describe('parseCommand', () => {
  it('splits a command line by the shell\'s quoting rules', () => {
    expect(parseCommand('backup.sh --full')).toEqual({ ok: true, argv: ['backup.sh', '--full'] });
    expect(parseCommand(`echo "a b" 'c d' e\\ f $'g\\nh'`)).toEqual({ ok: true, argv: ['echo', 'a b', 'c d', 'e f', 'g\nh'] });
    expect(parseCommand(`sh -c 'sleep 300 & sleep 300; :'`)).toEqual({ ok: true, argv: ['sh', '-c', 'sleep 300 & sleep 300; :'] });
    expect(parseCommand(`echo '$HOME' '*' "a;b"`)).toEqual({ ok: true, argv: ['echo', '$HOME', '*', 'a;b'] });
  });

  it.each([
    ['true; rm -rf /', '";"'],
    ['a | b', '"|"'],
    ['a && b', '"&&"'],
    ['a || b', '"||"'],
    ['a &', '"&"'],
    ['cat < /etc/passwd', '"<"'],
    ['echo x > /tmp/f', '">"'],
    ['echo x >> /tmp/f', '">>"'],
    ['a 2>&1', '">&"'],
    ['a <(b)', '"<("'],
    ['(a)', '"("'],
    ['ls *.txt', 'the glob "*.txt"'],
    ['ls file?', 'the glob "file?"'],
    ['echo $HOME', '"$"'],
    ['echo "$HOME"', '"$"'],
    ['echo $(id)', '"$"'],
    ['echo ${HOME}', '"$"'],
    ['echo `id`', 'backtick'],
    ['echo "`id`"', 'backtick'],
    ['echo hi # comment', 'comment'],
    ['echo a\nrm -rf /', 'newline'],
    ['echo "unterminated', 'unterminated quote'],
    ["echo 'unterminated", 'unterminated quote'],
    ['echo a\\', 'ends with a backslash'],
    ['echo ${}', 'Bad substitution'],
    ['', 'empty'],
    ['   ', 'empty'],
  ])('refuses %j (%s)', (command, reason) => {
    const parsed = parseCommand(command);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.reason).toContain(reason);
  });
});

describe('allowlist entries', () => {
  it('an entry ending with an unquoted * allows further arguments', () => {
    expect(parseAllowlistEntry('backup.sh *')).toEqual({ source: 'backup.sh *', argv: ['backup.sh'], anyArguments: true });
    expect(parseAllowlistEntry('backup.sh --full')).toEqual({ source: 'backup.sh --full', argv: ['backup.sh', '--full'], anyArguments: false });
    // A quoted * is a literal argument.
    expect(parseAllowlistEntry(`echo '*'`)).toEqual({ source: `echo '*'`, argv: ['echo', '*'], anyArguments: false });
  });

  it.each([
    ['*', 'the glob "*"'],
    ['backup.sh * --full', 'the glob "*"'],
    ['backup.sh --level=*', 'the glob "--level=*"'],
    ['backup.sh \\*', 'the glob "*"'],
    ['a; *', '";"'],
    ['run.sh $X', '"$"'],
    ['', 'empty'],
  ])('refuses the entry %j', (entry, reason) => {
    expect(() => parseAllowlistEntry(entry)).toThrow(reason);
  });

  it('matches exactly, or by prefix before *', () => {
    const exact = parseAllowlistEntry('backup.sh --full');
    expect(entryMatches(exact, ['backup.sh', '--full'])).toBe(true);
    expect(entryMatches(exact, ['backup.sh'])).toBe(false);
    expect(entryMatches(exact, ['backup.sh', '--full', '--extra'])).toBe(false);
    expect(entryMatches(exact, ['backup.sh', '--ful'])).toBe(false);

    const prefix = parseAllowlistEntry('backup.sh --level *');
    expect(entryMatches(prefix, ['backup.sh', '--level'])).toBe(true);
    expect(entryMatches(prefix, ['backup.sh', '--level', '3'])).toBe(true);
    expect(entryMatches(prefix, ['backup.sh', '--level', '3', '--quiet'])).toBe(true);
    expect(entryMatches(prefix, ['backup.sh'])).toBe(false);
    expect(entryMatches(prefix, ['backup.sh', '--levels', '3'])).toBe(false);
    expect(entryMatches(prefix, ['backup.sh', '--quiet', '--level', '3'])).toBe(false);
  });
});

describe('Allowlist.check', () => {
  const allowlist = new Allowlist(['backup.sh --full', 'report.sh *', '/usr/bin/env true', `echo 'a b'`]);

  it('allows what an entry matches, with the argv to run', () => {
    expect(allowlist.check('backup.sh --full')).toMatchObject({ allowed: true, argv: ['backup.sh', '--full'], entry: { source: 'backup.sh --full' } });
    expect(allowlist.check(`report.sh --day '2026-01-02' "x y"`)).toMatchObject({ allowed: true, argv: ['report.sh', '--day', '2026-01-02', 'x y'] });
    expect(allowlist.check('report.sh')).toMatchObject({ allowed: true, argv: ['report.sh'] });
    // Quoting differs, argv is the same.
    expect(allowlist.check('echo "a b"')).toMatchObject({ allowed: true, argv: ['echo', 'a b'] });
    expect(allowlist.check('echo a\\ b')).toMatchObject({ allowed: true });
  });

  it('refuses anything else with COMMAND_NOT_ALLOWED', () => {
    expect(allowlist.check('backup.sh')).toEqual({ allowed: false, error: 'COMMAND_NOT_ALLOWED: "backup.sh" is not in this agent\'s allowlist' });
    expect(allowlist.check('backup.sh --full --force')).toEqual({ allowed: false, error: 'COMMAND_NOT_ALLOWED: "backup.sh --full --force" is not in this agent\'s allowlist' });
    expect(allowlist.check('echo a b')).toMatchObject({ allowed: false });
  });

  it('compares argv[0] literally: no PATH lookup, no basename', () => {
    expect(allowlist.check('/usr/bin/env true')).toMatchObject({ allowed: true });
    expect(allowlist.check('env true')).toMatchObject({ allowed: false });
    expect(allowlist.check('/opt/backup.sh --full')).toMatchObject({ allowed: false });
    expect(allowlist.check('./backup.sh --full')).toMatchObject({ allowed: false });
    expect(allowlist.check('./report.sh x')).toMatchObject({ allowed: false });
  });

  it('refuses shell operators even after an allowed prefix, and says why', () => {
    const refused = allowlist.check('report.sh x; rm -rf /');
    expect(refused).toEqual({
      allowed: false,
      error: 'COMMAND_NOT_ALLOWED: "report.sh x; rm -rf /" is not in this agent\'s allowlist (it contains the shell operator ";"; the agent runs commands without a shell)',
    });
    expect(allowlist.check('report.sh $(id)')).toMatchObject({ allowed: false });
    expect(allowlist.check('report.sh > /etc/passwd')).toMatchObject({ allowed: false });
    expect(allowlist.check('report.sh *')).toMatchObject({ allowed: false });
  });

  it('an empty allowlist allows nothing', () => {
    expect(new Allowlist([]).check('true')).toMatchObject({ allowed: false });
  });
});
