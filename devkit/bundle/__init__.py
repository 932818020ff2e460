"""The git bundle manager: chains of standard git bundles that reproduce a repository exactly.

Modules, from the bottom up:

- `bundlefile`  the git bundle file format (v2/v3 header, pack checks), read and written as bytes
- `refname`     git's ref-name rules, for names read from manifests and bundles
- `gitrepo`     opening repositories (GitPython) and running git with argument lists
- `refstate`    a repository's ref state (refs, peeled tags, HEAD) and the difference of two
- `store`       the store: manifests, the chain, adding a link
- `snapshot`    `create`/`update`: snapshot the source and write the next link
- `verify`      offline checks of bundle files and of the chain
- `apply`       bring a target repository to the store's latest state in one ref transaction
- `cli`         the `devkit bundle` commands
"""
