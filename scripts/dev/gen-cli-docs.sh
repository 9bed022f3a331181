#!/usr/bin/env bash
# Regenerates docs/cli.md from the binary's own help (`lifeboat debug cli-reference`), and, when
# asked, man pages and shell completions for installing.
# Usage: scripts/dev/gen-cli-docs.sh [--man DIR] [--completions DIR]
#   --man DIR          writes lifeboat.1 and one page per subcommand (swift-argument-parser's
#                      generate-manual plugin)
#   --completions DIR  writes lifeboat.bash, _lifeboat (zsh) and lifeboat.fish
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/env.sh
swift build --product lifeboat >&2
bin=.build/debug/lifeboat
"$bin" debug cli-reference > docs/cli.md
echo "gen-cli-docs: wrote docs/cli.md" >&2
while (($#)); do
  case "$1" in
    --man)
      mkdir -p "$2"
      swift package plugin --allow-writing-to-directory "$2" generate-manual --multi-page --output-directory "$2" >&2
      rm -f "$2"/lifeboat.debug*.1   # developer tools, hidden from --help too
      echo "gen-cli-docs: wrote man pages to $2" >      echo "gen-cli-docs: wrote man pages to $2" >&22
      shift 2 ;;
    --completions)
      mkdir -p "$2"
      "$bin" --generate-completion-script bash > "$2/lifeboat.bash"
      "$bin" --generate-completion-script zsh > "$2/_lifeboat"
      "$bin" --generate-completion-script fish > "$2/lifeboat.fish"
      echo "gen-cli-docs: wrote completions to $2" >&2
      shift 2 ;;
    *) echo "usage: scripts/dev/gen-cli-docs.sh [--man DIR] [--completions DIR]" >&2; exit 2 ;;
  esac
done
