# Sourced by the completion and help tests: loads the shipped bash completion
# and defines comp WORD... -> what it offers after those words (the last word
# is the one being completed).  Needs SRC (the source tree).
# shellcheck source=/dev/null
source "$SRC/scripts/jobwatchd-completion.bash"

comp() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_jobwatchd
	echo "${COMPREPLY[*]}"
}
