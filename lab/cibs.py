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
