"""The CIB the lab's tests, benchmarks and examples usually run: a group `web` of a floating
address (`vip`, ocf:pyheartbeat:IPaddr2 on `{vip}`) and a TCP service (`svc`, the heartbeat-class
script bench/svc/tcpsvc on port 8080), with the cluster options, extra resources, constraints and
stickiness each caller needs. `{vip}` is expanded by the lab (plan.expand) when it loads the CIB.
"""

from __future__ import annotations

from typing import Optional


def web_group_cib(options: dict[str, str], monitor: str = "10s", constraints: str = "",
                  stickiness: Optional[int] = None, extra_resources: str = "", port: int = 8080) -> str:
    props = "".join(f'<nvpair id="opts-{i}" name="{name}" value="{value}"/>'
                    for i, (name, value) in enumerate(options.items()))
    defaults = "" if stickiness is None else (
        '<rsc_defaults><meta_attributes id="rsc-options">'
        f'<nvpair id="rsc-stick" name="resource-stickiness" value="{stickiness}"/></meta_attributes></rsc_defaults>')
    return f"""<cib admin_epoch="0" epoch="1" num_updates="0" validate-with="pacemaker-3.0" crm_feature_set="3.16.2">
 <configuration>
  <crm_config><cluster_property_set id="opts">{props}</cluster_property_set></crm_config>
  <nodes/>
  <resources>
   <group id="web">
    <primitive id="vip" class="ocf" provider="pyheartbeat" type="IPaddr2">
     <instance_attributes id="vip-ia"><nvpair id="vip-ip" name="ip" value="{{vip}}"/>
      <nvpair id="vip-mask" name="cidr_netmask" value="24"/><nvpair id="vip-nic" name="nic" value="eth0"/>
     </instance_attributes>
     <operations><op id="vip-mon" name="monitor" interval="{monitor}" timeout="20s"/></operations>
    </primitive>
    <primitive id="svc" class="heartbeat" type="tcpsvc">
     <instance_attributes id="svc-ia"><nvpair id="svc-1" name="1" value="{port}"/></instance_attributes>
     <operations><op id="svc-mon" name="monitor" interval="{monitor}" timeout="20s"/></operations>
    </primitive>
   </group>{extra_resources}
  </resources>
  <constraints>{constraints}</constraints>{defaults}
 </configuration>
 <status/>
</cib>
"""


def campaign_cib(device: str, directory: str, port: int = 8080) -> str:
    """The CIB the fault campaign (hb cts) runs: what users run on a Heartbeat-style cluster.

    - group `web`: the filesystem (`fs`, ext4 on a loop device, mounted in the node's own mount
      namespace), the floating address (`vip`) and the TCP service (`svc`), in that order;
    - clone `base` (ocf:pyheartbeat:Dummy on every node), ordered before and colocated with `web`;
    - `flaky` (bench/svc/ctsres), a resource the campaign makes fail to stop or hang on start;
    - fencing (added by the lab: stonith lab), quorum policy stop, stickiness 100."""
    fs = f"""
    <primitive id="fs" class="ocf" provider="pyheartbeat" type="Filesystem">
     <instance_attributes id="fs-ia"><nvpair id="fs-dev" name="device" value="{device}"/>
      <nvpair id="fs-dir" name="directory" value="{directory}"/><nvpair id="fs-type" name="fstype" value="ext4"/>
     </instance_attributes>
     <operations><op id="fs-mon" name="monitor" interval="5s" timeout="20s"/></operations>
    </primitive>"""
    extra = """
   <clone id="base">
    <primitive id="base-d" class="ocf" provider="pyheartbeat" type="Dummy">
     <operations><op id="base-mon" name="monitor" interval="10s" timeout="20s"/></operations>
    </primitive>
   </clone>
   <primitive id="flaky" class="heartbeat" type="ctsres">
    <instance_attributes id="flaky-ia"><nvpair id="flaky-1" name="1" value="flaky"/></instance_attributes>
    <operations><op id="flaky-start" name="start" interval="0" timeout="3s"/>
     <op id="flaky-mon" name="monitor" interval="5s" timeout="10s"/></operations>
   </primitive>"""
    constraints = ('<rsc_order id="base-then-web" first="base" then="web" kind="Mandatory"/>'
                   '<rsc_colocation id="web-with-base" rsc="web" with-rsc="base" score="INFINITY"/>')
    text = web_group_cib({"no-quorum-policy": "stop", "stonith-timeout": "20s"}, monitor="2s",
                         constraints=constraints, stickiness=100, extra_resources=extra, port=port)
    return text.replace('<group id="web">', '<group id="web">' + fs, 1)
