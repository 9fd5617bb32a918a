<?xml version="1.0" encoding="UTF-8"?>
<gml:FeatureCollection xmlns:gml="http://www.opengis.net/gml" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:fme="http://www.safe.com/gml/fme" xsi:schemaLocation="http://www.safe.com/gml/fme testfmegml.xsd">
<gml:boundedBy>
<gml:Envelope srsName="EPSG:4326" srsDimension="2">
<gml:lowerCorner>49 2</gml:lowerCorner>
<gml:upperCorner>50 3</gml:upperCorner>
</gml:Envelope>
</gml:boundedBy>
<gml:featureMember>
<fme:Layer1 gml:id="1">
<gml:multiPointProperty>
<gml:MultiPoint srsName="EPSG:4326" srsDimension="2">
<gml:pointMember>
<gml:Point>
<gml:pos>49 2</gml:pos>
</gml:Point>
</gml:pointMember>
</gml:MultiPoint>
</gml:multiPointProperty>
</fme:Layer1>
</gml:featureMember>

<gml:featureMember>
<fme:Layer2 gml:id="3">
<gml:multiSurfaceProperty>
<gml:MultiSurface srsName="EPSG:4326" srsDimension="2">
<gml:surfaceMember>
<gml:Surface>
<gml:patches>
<gml:PolygonPatch>
<gml:exterior>
<gml:LinearRing>
<gml:posList>49 2 49 3 50 3 50 2 49 2</gml:posList>
</gml:LinearRing>
</gml:exterior>
</gml:PolygonPatch>
</gml:patches>
</gml:Surface>
</gml:surfaceMember>
</gml:MultiSurface>
</gml:multiSurfaceProperty>
</fme:Layer2>
</gml:featureMember>

<gml:featureMember>
<fme:Layer3 gml:id="5">
<gml:multiCurveProperty>
<gml:MultiCurve srsName="EPSG:4326" srsDimension="2">
<gml:curveMember>
<gml:LineString>
<gml:posList>49 2 50 3</gml:posList>
</gml:LineString>
</gml:curveMember>
</gml:MultiCurve>
</gml:multiCurveProperty>
</fme:Layer3>
</gml:featureMember>

<gml:featureMember>
<fme:Layer1 gml:id="2">
<gml:pointProperty>
<gml:Point srsName="EPSG:4326" srsDimension="2">
<gml:pos>49 2</gml:pos>
</gml:Point>
</gml:pointProperty>
</fme:Layer1>
</gml:featureMember>

<gml:featureMember>
<fme:Layer2 gml:id="4">
<gml:surfaceProperty>
<gml:Surface srsName="EPSG:4326" srsDimension="2">
<gml:patches>
<gml:PolygonPatch>
<gml:exterior>
<gml:LinearRing>
<gml:posList>49 2 49 3 50 3 50 2 49 2</gml:posList>
</gml:LinearRing>
</gml:exterior>
</gml:PolygonPatch>
</gml:patches>
</gml:Surface>
</gml:surfaceProperty>
</fme:Layer2>
</gml:featureMember>

<gml:featureMember>
<fme:Layer3 gml:id="6">
<gml:curveProperty>
<gml:LineString srsName="EPSG:4326" srsDimension="2">
<gml:posList>49 2 50 3</gml:posList>
</gml:LineString>
</gml:curveProperty>
</fme:Layer3>
</gml:featureMember>

</gml:FeatureCollection>
