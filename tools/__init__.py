"""Administration tools that show or change cluster state, in the shape of Pacemaker's command-line
tools so that scripts written for those keep working (`crm_mon` first).

Each tool is a thin shell: it gets a CIB (from a file or from the running cluster through
`tools.cibsource`), lets the policy engine unpack it (`pengine.engine.unpack_cib`) and renders the
result; nothing here decides anything about the cluster.
"""
