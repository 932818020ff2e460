"""The git bundle manager: chains of standard git bundles that reproduce a repository exactly.

Modules, from the bottom up:

- `bundlefile`  the git bundle file format (v2/v3 header, pack checks), read and written as bytes
- `refname`     git's ref-name rules, for names read from manifests and bundles
- `gitrepo`     opening repositories (GitPython) and running git with argument lists
- `refstate`    a repository's ref state (refs, peeled tags, HEAD) and the difference of two
- `signing`     signing manifests and checking their signatures (`ssh-keygen -Y`)
- `store`       the store: manifests, the chain, adding a link
- `bundlelist`  git's bundle-list format, for `git clone --bundle-uri`
- `verify`      offline checks of bundle files, of the chain, of a published list
- `publish`     the bundle list for a static host, kept current by `update` and `compact`
- `snapshot`    `create`/`update`: snapshot the source and write the next link
- `target`      what a target records of the store it follows
- `apply`       bring a target repository to the store's latest state in one ref transaction
- `status`      how far a target is behind, from manifests and refs alone
- `compact`     fold the oldest links into a new self-contained base
- `cli`         the `devkit bundle` commands
"""
