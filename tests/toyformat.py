"""A small format made for the engine tests (no rules here: test modules register their own)."""
import textwrap

NS = "urn:edihub:test:toy"

XSD = f"""<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{NS}" xmlns="{NS}"
           elementFormDefault="qualified">
  <xs:element name="Order">
    <xs:complexType><xs:sequence>
      <xs:element name="No" type="xs:string"/>
      <xs:element name="Mode" type="xs:string"/>
      <xs:element name="Item" maxOccurs="unbounded">
        <xs:complexType><xs:sequence>
          <xs:element name="Qty" type="xs:decimal"/>
          <xs:element name="Country" type="xs:string"/>
        </xs:sequence></xs:complexType>
      </xs:element>
    </xs:sequence></xs:complexType>
  </xs:element>
</xs:schema>
"""

FORMATS = f"""
family = "toy"
title = "Toy orders"
[namespaces]
t = "{NS}"
[[types]]
name = "Order"
root = "{{{NS}}}Order"
xsd = "order.xsd"
title = "An order"
business_key = "t:No"
code_fields = [ {{ path = "t:Mode", table = "toy_mode" }}, {{ path = "t:Item/t:Country", table = "iso3166_alpha2" }} ]
"""


def doc(items="<Item><Qty>2</Qty><Country>VN</Country></Item>", mode="S", ns=NS):
    return textwrap.dedent(f"""\
        <Order xmlns="{ns}">
          <No>ORD-1</No>
          <Mode>{mode}</Mode>
          {items}
        </Order>""").encode()
